"""The DRAW module: what `build(config)` returns and a saved model holds (Gregor et al. 2015, section 2).

At each step t = 1 .. T, with canvas c_0 = 0 and zero LSTM states (eqs. 3-8):

    x^_t     = x - sigmoid(c_{t-1})                         the error image
    r_t      = read(x, x^_t, h_dec_{t-1})                   attention.py
    h_enc_t  = LSTM_enc(h_enc_{t-1}, [r_t, h_dec_{t-1}])
    z_t      ~ Q(Z_t | h_enc_t) = N(mu_t, diag(exp(logvar_t))),  (mu_t, logvar_t) = W(h_enc_t)   (eqs. 1, 2)
    h_dec_t  = LSTM_dec(h_dec_{t-1}, z_t)
    c_t      = c_{t-1} + write(h_dec_t)

and p(x | c_T) is Bernoulli with logits c_T (eq. 9) or Gaussian with mean sigmoid(c_T). The loss is
L = L^x + L^z with L^z = sum_t KL(Q(Z_t | h_enc_t) || N(0, I)) (eqs. 10-12): the negative ELBO, with the KL of each
step in closed form given the earlier steps' samples. Generation runs the decoder alone on z_t ~ N(0, I) (eqs. 13-15).

Contracts: the generator's (`latent_dim` = T * z_size, `num_classes` = 0, `generate(z)`: the mean of p(x | c_T));
the autoencoder's (`encode(x)`: the posterior means and log-variances of all steps, each step fed the previous
steps' means, so `decode(encode(x)[0])` is the deterministic reconstruction); the declared capabilities `likelihood`
(`elbo`, `iwae_log_likelihood`), `drawing_steps` (the canvas after each step) and `export_recipe` (the decoder
unrolled for T steps, latents in, no random ops). Images are N x C x R x R in [0, 1]; log-likelihoods are per image,
in nats.
"""

from __future__ import annotations

import math

import torch
from genstudio_vae.likelihood import bernoulli_log_likelihood, gaussian_log_likelihood, kl_standard_normal, log_normal
from genstudio_vae.model import MIN_LOG_STD, normal_noise
from torch import nn

from genstudio_draw.attention import AttentiveReader, AttentiveWriter, PlainReader, PlainWriter


class DRAW(nn.Module):
    """Encoder and decoder LSTMs, read and write heads, and the likelihood of the final canvas."""

    def __init__(
        self,
        channels: int = 1,  # C
        resolution: int = 32,  # R: images are R x R
        steps: int = 16,  # T: writes onto the canvas
        z_size: int = 10,  # latent variables per step
        enc_size: int = 128,  # encoder LSTM units
        dec_size: int = 128,  # decoder LSTM units
        attention: bool = True,  # Gaussian read/write grids (sec. 3.2); False: whole image (sec. 3.1)
        read_n: int = 4,  # read grid read_n x read_n
        write_n: int = 5,  # write grid write_n x write_n
        likelihood: str = "bernoulli",  # bernoulli | gaussian
        gaussian_variance: str = "learned",  # learned | fixed (gaussian only)
        gaussian_std: float = 0.1,  # the fixed std, or the learned one's start (gaussian only)
    ):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be bernoulli or gaussian, got {likelihood!r}")
        self.steps, self.z_size, self.likelihood = steps, z_size, likelihood
        self.latent_dim, self.num_classes = steps * z_size, 0
        self.image_shape = (channels, resolution, resolution)
        self.enc_size, self.dec_size = enc_size, dec_size
        if attention:
            self.reader: nn.Module = AttentiveReader(dec_size, read_n, channels, resolution)
            self.writer: nn.Module = AttentiveWriter(dec_size, write_n, channels, resolution)
        else:
            self.reader = PlainReader(channels, resolution)
            self.writer = PlainWriter(dec_size, channels, resolution)
        self.encoder = nn.LSTMCell(self.reader.size + dec_size, enc_size)  # [r_t, h_dec_{t-1}] -> h_enc_t
        self.posterior = nn.Linear(enc_size, 2 * z_size)  # h_enc_t -> (mu_t, logvar_t)
        self.decoder = nn.LSTMCell(z_size, dec_size)  # z_t -> h_dec_t
        start = torch.tensor(math.log(gaussian_std))
        if likelihood == "bernoulli":
            self.log_std: torch.Tensor | None = None
        elif gaussian_variance == "learned":
            self.log_std = nn.Parameter(start)  # one sigma for every pixel
        else:
            self.register_buffer("log_std", start)

    @property
    def dims(self) -> int:
        """C * H * W: divide per-image nats by this for nats per dimension."""
        return math.prod(self.image_shape)

    def _zeros(self, like: torch.Tensor, *shape: int) -> torch.Tensor:
        """Zeros of `like.shape[0]` x shape; the batch size stays symbolic when traced for ONNX."""
        return torch.zeros((like.shape[0], *shape), device=like.device, dtype=like.dtype)

    def _check_images(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"images must be N x {' x '.join(map(str, self.image_shape))}, got {tuple(x.shape)}")

    def _latent_steps(self, z: torch.Tensor) -> torch.Tensor:
        """N x (T * z_size) -> N x T x z_size."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim} (steps x z_size), got {tuple(z.shape)}")
        return z.view(-1, self.steps, self.z_size)

    # ---------------------------------------------------------------------------------------------------------
    # The recurrences

    def infer(self, x: torch.Tensor, noise: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run encoder and decoder together over x (N x C x R x R): (final canvas c_T, mu, logvar, z), the last
        three N x T x z_size. `noise` (N x T x z_size) draws z_t = mu_t + exp(logvar_t / 2) * noise_t; None takes
        z_t = mu_t (the deterministic encoding)."""
        self._check_images(x)
        h_enc, c_enc = self._zeros(x, self.enc_size), self._zeros(x, self.enc_size)
        h_dec, c_dec = self._zeros(x, self.dec_size), self._zeros(x, self.dec_size)
        canvas = torch.zeros_like(x)  # c_0
        mus, logvars, zs = [], [], []
        for t in range(self.steps):
            x_hat = x - torch.sigmoid(canvas)  # eq. 3
            r = self.reader(x, x_hat, h_dec)  # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=1), (h_enc, c_enc))  # eq. 5
            mu, logvar = self.posterior(h_enc).chunk(2, dim=1)  # N x z_size each (eqs. 1, 2)
            z = mu if noise is None else mu + torch.exp(0.5 * logvar) * noise[:, t]  # eq. 6
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))  # eq. 7
            canvas = canvas + self.writer(h_dec)  # eq. 8
            mus.append(mu)
            logvars.append(logvar)
            zs.append(z)
        return canvas, torch.stack(mus, 1), torch.stack(logvars, 1), torch.stack(zs, 1)

    def canvases(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The decoder alone on latents z (N x T * z_size): the canvases c_1 .. c_T (logits), eqs. 13-15."""
        z_steps = self._latent_steps(z)
        h_dec, c_dec = self._zeros(z, self.dec_size), self._zeros(z, self.dec_size)
        canvas = self._zeros(z, *self.image_shape)
        out = []
        for t in range(self.steps):
            h_dec, c_dec = self.decoder(z_steps[:, t], (h_dec, c_dec))  # eq. 14
            canvas = canvas + self.writer(h_dec)  # eq. 15
            out.append(canvas)
        return out

    # ---------------------------------------------------------------------------------------------------------
    # The autoencoder and generator contracts, and the drawing steps

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each N x (T * z_size): the posterior of every step along the path of its means."""
        _, mu, logvar, _ = self.infer(x)
        return mu.flatten(1), logvar.flatten(1)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of p(x | c_T), N x C x R x R in [0, 1]."""
        return torch.sigmoid(self.canvases(z)[-1])

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The generator contract: decode latents drawn from the prior N(0, I)."""
        return self.decode(z, labels)

    def drawing_steps(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """sigmoid(c_t) for t = 1 .. T: N x T x C x R x R in [0, 1]; the last is `generate(z)`."""
        return torch.sigmoid(torch.stack(self.canvases(z), dim=1))

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        mu, _ = self.encode(x)
        return self.decode(mu)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.reconstruct(x)

    # ---------------------------------------------------------------------------------------------------------
    # Likelihoods

    def log_likelihood(self, x: torch.Tensor, canvas: torch.Tensor) -> torch.Tensor:
        """log p(x | c_T) per image (N): Bernoulli with logits c_T, or Gaussian with mean sigmoid(c_T)."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(canvas, x)
        return gaussian_log_likelihood(torch.sigmoid(canvas), self.log_std.clamp(min=MIN_LOG_STD), x)

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x | c_T) for one posterior sample, L^z = sum_t KL(Q(Z_t | h_enc_t) || N(0, I))), each N."""
        noise = normal_noise((len(x), self.steps, self.z_size), x, generator).to(x.dtype)
        canvas, mu, logvar, _ = self.infer(x, noise)
        return self.log_likelihood(x, canvas), kl_standard_normal(mu, logvar).sum(dim=1)  # eqs. 9, 11

    def elbo(self, x: torch.Tensor, labels: torch.Tensor | None = None, *, samples: int = 1,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """The ELBO per image (N) in nats, averaged over `samples` posterior trajectories: -(L^x + L^z)."""
        total = torch.zeros(len(x), device=x.device)
        for _ in range(samples):
            log_px, kl = self.elbo_terms(x, generator)
            total = total + log_px - kl
        return total / samples

    def iwae_log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None = None, k: int = 100,
                            generator: torch.Generator | None = None, *, max_decoded: int = 1024) -> torch.Tensor:
        """log p(x) per image (N) in nats from `k` importance samples of the whole trajectory (Burda et al. 2016,
        eq. 8): log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x), where q(z | x) = prod_t Q(z_t | h_enc_t) follows
        the sampled path. Decoded in chunks of about `max_decoded` trajectories."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self._check_images(x)
        count = len(x)
        per_chunk = max(1, max_decoded // max(1, count))
        log_weights = []
        for start in range(0, k, per_chunk):
            m = min(per_chunk, k - start)
            repeated = x.unsqueeze(0).expand(m, *x.shape).reshape(m * count, *x.shape[1:])
            noise = normal_noise((m * count, self.steps, self.z_size), x, generator).to(x.dtype)
            canvas, mu, logvar, z = self.infer(repeated, noise)
            z, mu, logvar = z.flatten(1), mu.flatten(1), logvar.flatten(1)
            log_w = self.log_likelihood(repeated, canvas) + log_normal(z) - log_normal(z, mu, logvar)
            log_weights.append(log_w.view(m, count))
        return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k)

    # ---------------------------------------------------------------------------------------------------------
    # ONNX

    def export_graphs(self) -> list:
        """The decoder unrolled for T steps (model.onnx: z -> images), the drawing steps (model.steps.onnx:
        z -> N x T x C x R x R) and the deterministic encoder (model.encoder.onnx: images -> mean, logvar). Latents
        are graph inputs: no random op in any graph."""
        from genstudio.export import ExportGraph, GraphInput

        z = GraphInput("z", ("batch", self.latent_dim))
        x = GraphInput("images", ("batch", *self.image_shape), sample="unit")
        batch = {0: "batch"}
        return [
            ExportGraph("model", _Method(self, "decode"), [z], ["images"], {"images": batch}),
            ExportGraph("steps", _Method(self, "drawing_steps"), [z], ["steps"], {"steps": batch}),
            ExportGraph("encoder", _Method(self, "encode"), [x], ["mean", "logvar"], {"mean": batch, "logvar": batch}),
        ]


class _Method(nn.Module):
    """One method of a DRAW module as a graph's forward (the traced loops unroll the T steps)."""

    def __init__(self, draw: DRAW, method: str):
        super().__init__()
        self.draw, self.method = draw, method

    def forward(self, inputs: torch.Tensor):
        return getattr(self.draw, self.method)(inputs)
