"""The VAE module: what `build(config)` returns and a saved model holds.

It follows genstudio's autoencoder contract (`latent_dim`, `encode`, `decode`) and the generator contract
(`num_classes`, `generate(z, labels)` = decode), so `genstudio generate` samples it from the standard-normal prior
like a GAN. Images are N x C x R x R in [0, 1]; log-likelihoods are per image, in nats (see `likelihood`).

The variational bound (Kingma & Welling 2014, equation 3):

    log p(x) >= ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)),

estimated with reparameterised samples z = mu + sigma * eps and the KL in closed form; the importance-weighted
estimate of log p(x) (Burda et al. 2016, equation 8) is

    log p(x) ~ log (1/k) sum_i p(x, z_i) / q(z_i|x),  z_i ~ q(z|x),

a bound that tightens as k grows, equal to the ELBO in expectation for k = 1.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from genstudio_vae.likelihood import bernoulli_log_likelihood, gaussian_log_likelihood, kl_standard_normal, log_normal
from genstudio_vae.networks import Decoder, Encoder

MIN_LOG_STD = math.log(1e-3)  # a learned Gaussian std stops here: below it the density grows without bound


def normal_noise(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard-normal noise of `shape` on `like`'s device, from `generator` when one is given (drawn on the
    generator's device, then moved), else from torch's global generator."""
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=torch.float32)
    return torch.randn(shape, generator=generator, device=generator.device).to(like.device)


class ConvVAE(nn.Module):
    """Encoder, decoder and likelihood; class-conditional when num_classes > 0."""

    def __init__(
        self,
        latent_dim: int = 32,  # length of z
        channels: int = 3,  # C
        resolution: int = 32,  # R: 32, 64 or 128
        width: int = 32,  # channels of the R/2 x R/2 layers
        num_classes: int = 0,  # > 0: conditional (Sohn et al. 2015)
        likelihood: str = "bernoulli",  # bernoulli | gaussian
        gaussian_variance: str = "learned",  # learned | fixed (gaussian only)
        gaussian_std: float = 0.1,  # the fixed std, or the learned one's start (gaussian only)
    ):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be bernoulli or gaussian, got {likelihood!r}")
        self.latent_dim, self.num_classes, self.likelihood = latent_dim, num_classes, likelihood
        self.image_shape = (channels, resolution, resolution)
        self.encoder = Encoder(channels, resolution, width, latent_dim, num_classes)
        self.decoder = Decoder(channels, resolution, width, latent_dim, num_classes)
        start = torch.tensor(math.log(gaussian_std))
        if likelihood == "bernoulli":
            self.log_std: torch.Tensor | None = None
        elif gaussian_variance == "learned":
            self.log_std = nn.Parameter(start)  # one sigma for every pixel (Rybkin et al. 2021)
        else:
            self.register_buffer("log_std", start)

    @property
    def dims(self) -> int:
        """C * H * W: divide per-image nats by this for nats per dimension."""
        return math.prod(self.image_shape)

    # ---------------------------------------------------------------------------------------------------------
    # Inputs

    def _onehot(self, labels: torch.Tensor | None, count: int, device: torch.device, *,
                cycle: bool) -> torch.Tensor | None:
        """One-hot labels for a conditional model (None for an unconditional one). Without labels, `cycle` gives
        0, 1, 2, ... (sampling); otherwise that is a bug of the caller."""
        if not self.num_classes:
            return None
        if labels is None:
            if not cycle:
                raise ValueError("this VAE is conditional: pass labels")
            labels = torch.arange(count, device=device) % self.num_classes
        labels = labels.to(device).long()
        if labels.shape != (count,) or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must be {count} integers in 0..{self.num_classes - 1}")
        return F.one_hot(labels, self.num_classes).float()

    def _check_images(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"images must be N x {' x '.join(map(str, self.image_shape))}, got {tuple(x.shape)}")

    # ---------------------------------------------------------------------------------------------------------
    # The autoencoder contract

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior q(z|x) = N(mu, diag(exp(logvar))): (mu, logvar), each N x latent_dim."""
        self._check_images(x)
        return self.encoder(x, self._onehot(labels, len(x), x.device, cycle=False))

    def decoder_output(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's raw output N x C x R x R: Bernoulli logits, or the Gaussian mean before its sigmoid."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim}, got {tuple(z.shape)}")
        return self.decoder(z, self._onehot(labels, len(z), z.device, cycle=True))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of p(x|z), N x C x R x R in [0, 1]. A conditional model without labels cycles 0, 1, 2, ..."""
        return torch.sigmoid(self.decoder_output(z, labels))

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The generator contract: decode latents drawn from the prior N(0, I)."""
        return self.decode(z, labels)

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean: a deterministic reconstruction in [0, 1]."""
        mu, _ = self.encode(x, labels)
        return self.decode(mu, labels)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.reconstruct(x, labels)

    # ---------------------------------------------------------------------------------------------------------
    # Likelihoods

    def log_likelihood(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per image (N), from `decoder_output(z)`."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(output, x)
        log_std = self.log_std.clamp(min=MIN_LOG_STD)
        return gaussian_log_likelihood(torch.sigmoid(output), log_std, x)

    def sample_posterior(self, mu: torch.Tensor, logvar: torch.Tensor,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I): the reparameterisation (Kingma & Welling 2014, sec. 2.4)."""
        return mu + torch.exp(0.5 * logvar) * normal_noise(tuple(mu.shape), mu, generator).to(mu.dtype)

    def elbo_terms(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x|z) for one posterior sample z, KL(q(z|x) || p(z))), each per image (N)."""
        mu, logvar = self.encode(x, labels)
        z = self.sample_posterior(mu, logvar, generator)
        return self.log_likelihood(x, self.decoder_output(z, labels)), kl_standard_normal(mu, logvar)

    def elbo(self, x: torch.Tensor, labels: torch.Tensor | None = None, *, samples: int = 1,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """The ELBO per image (N) in nats: the mean over `samples` posterior samples of log p(x|z), minus the KL
        in closed form. An unbiased estimate of the bound, a lower bound on log p(x) in expectation."""
        mu, logvar = self.encode(x, labels)
        total = torch.zeros(len(x), device=x.device)
        for _ in range(samples):
            z = self.sample_posterior(mu, logvar, generator)
            total = total + self.log_likelihood(x, self.decoder_output(z, labels))
        return total / samples - kl_standard_normal(mu, logvar)

    def iwae_log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None = None, k: int = 100,
                            generator: torch.Generator | None = None, *, max_decoded: int = 1024) -> torch.Tensor:
        """log p(x) per image (N) in nats, estimated from `k` importance samples of q(z|x) (Burda et al. 2016).

        The k samples are decoded in chunks of about `max_decoded` images (never fewer than one sample for the
        whole batch), so memory does not grow with k; split large batches of x before calling.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        mu, logvar = self.encode(x, labels)  # N x D each
        count = len(x)
        per_chunk = max(1, max_decoded // max(1, count))
        log_weights = []
        for start in range(0, k, per_chunk):
            m = min(per_chunk, k - start)
            eps = normal_noise((m, count, self.latent_dim), mu, generator).to(mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps  # m x N x D
            flat_labels = labels.to(x.device).repeat(m) if labels is not None else None
            output = self.decoder_output(z.reshape(m * count, -1), flat_labels)  # (m*N) x C x R x R
            repeated = x.unsqueeze(0).expand(m, *x.shape).reshape(m * count, *x.shape[1:])
            log_px_z = self.log_likelihood(repeated, output).view(m, count)
            log_weights.append(log_px_z + log_normal(z) - log_normal(z, mu, logvar))  # m x N
        return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k)
