"""StyleGAN2Task: one training step of StyleGAN2 (genstudio's TrainingTask contract), after the official
StyleGAN2-ADA loss and loop (Karras et al. 2020a, appendix B; Karras et al. 2020b, appendix B).

A step has four phases, each its own optimizer step:

- Gmain: non-saturating logistic loss softplus(-D(A(G(z)))) (Goodfellow et al. 2014; Karras 2020a, appendix B),
  with style mixing regularisation (Karras et al. 2019, section 3.1): with probability `style_mixing` the styles
  from a random crossover layer on come from a second latent. Then w_avg <- lerp(mean w, w_avg, 0.995).
- Greg, every `pl_interval` steps: path length regularisation (Karras et al. 2020a, section 3.2, eq. 4):
  E[(||J_w^T y||_2 - a)^2], y ~ N(0, I) / sqrt(H W) an image-space direction, a the running mean of the lengths
  (decay 0.01), on half a batch, weighted pl_weight x interval (lazy regularisation, section 3.1).
- Dmain: softplus(D(A(G(z)))) + softplus(-D(A(x))).
- Dreg, every `r1_interval` steps: R1 = gamma / 2 E[||grad_x D(A(x))||^2] (Mescheder et al. 2018, eq. 9) at the
  real images, weighted by the interval.

With lazy regularisation Adam's learning rate and betas are scaled by c = k / (k + 1) (Karras et al. 2020a,
appendix B: lr c, beta^c). A is the adaptive augmentation (`augment.AdaptiveAugment`), whose p follows r_t.

A non-square model (`aspect`) is trained on its window: D sees real and generated images with everything outside
the centred height x width window set to 0 (mid-grey), so G is judged only on the pixels it will show. The backend
declares `Capabilities.aspect`, so the dataset reads each real image into that window by `aspect_fit`
(genstudio.data.fit_image): crop (its centred window of the aspect) or pad (all of it, scaled to fit, the rest
white); a 16:9 photo trains a 16:9 model whole, not a centred square of it.

Everything that a resumed run must continue lives in modules the checkpoint saves: G (with w_avg and the fixed
noise), D, and `state` (the augmentation's p and r_t sums, the path length mean, images seen, the last penalty
values). So a run stopped and resumed repeats the uninterrupted one exactly on the CPU.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genstudio_stylegan2 import AUTO_ADA_BELOW
from genstudio_stylegan2.augment import ADA_INTERVAL, AdaptiveAugment
from genstudio_stylegan2.networks import StyleDiscriminator, StyleGenerator, window

W_AVG_BETA = 0.995  # decay of the tracked mean style (StyleGAN2-ADA's w_avg_beta)
PL_DECAY = 0.01  # decay of the path length mean a (Karras et al. 2020a, appendix B)
PL_BATCH_SHRINK = 2  # the path length penalty is computed on half a batch


def augment_mode(config: dict[str, Any], dataset_size: int) -> str:
    """"ada", "fixed" or "off": `auto` is ada for datasets under AUTO_ADA_BELOW images (where the ADA paper's
    gains are), else off."""
    mode = config["augment"]
    if mode == "auto":
        return "ada" if dataset_size < AUTO_ADA_BELOW else "off"
    return mode


def r1_gamma(config: dict[str, Any], batch: int) -> float:
    """The configured gamma, or StyleGAN2-ADA's heuristic 0.0002 * R^2 / batch (train.py, `--gamma` auto)."""
    gamma = float(config["r1_gamma"])
    return gamma if gamma > 0 else 0.0002 * config["resolution"] ** 2 / batch


class TrainingState(nn.Module):
    """The scalars a resumed run needs besides the weights and optimizers, as buffers (saved in checkpoints)."""

    def __init__(self, augment: AdaptiveAugment):
        super().__init__()
        self.augment = augment
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.int64))
        self.register_buffer("pl_mean", torch.zeros((), dtype=torch.float32))
        self.register_buffer("last_pl", torch.zeros((), dtype=torch.float32))  # the newest penalties, logged
        self.register_buffer("last_r1", torch.zeros((), dtype=torch.float32))  # at every step
        self.register_buffer("last_rt", torch.zeros((), dtype=torch.float32))


def _adam(module: nn.Module, config: dict[str, Any], interval: int) -> torch.optim.Adam:
    ratio = interval / (interval + 1) if interval else 1.0  # lazy regularisation (Karras 2020a, appendix B)
    return torch.optim.Adam(module.parameters(), lr=config["lr"] * ratio,
                            betas=(config["beta1"] ** ratio, config["beta2"] ** ratio), eps=1e-8)


class StyleGAN2Task:
    """G, D and the training state, with one Adam each for G and D; the runtime keeps the EMA copy of G."""

    ema_module = "G"

    def __init__(
        self,
        generator: StyleGenerator,  # what build(config) returns
        discriminator: StyleDiscriminator,
        config: dict[str, Any],  # the resolved backend config
        dataset_size: int,  # training images: decides `augment=auto`
    ):
        self.generator, self.discriminator = generator, discriminator
        self.config = config
        augment = AdaptiveAugment(augment_mode(config, dataset_size), config["augment_p"], config["ada_target"],
                                  config["ada_images"])
        self.state = TrainingState(augment)
        self.modules: dict[str, nn.Module] = {"G": generator, "D": discriminator, "state": self.state}
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "G": _adam(generator, config, config["pl_interval"] if config["pl_weight"] > 0 else 0),  # 0: not lazy
            "D": _adam(discriminator, config, config["r1_interval"]),
        }
        self.conditional = generator.num_classes > 0
        g = generator
        self.window = None if (g.height, g.width) == (g.resolution, g.resolution) else window(g.resolution, g.height,
                                                                                              g.width)

    # -- the aspect window ---------------------------------------------------------------------------------------

    def _letterbox(self, images: torch.Tensor) -> torch.Tensor:
        """N x C x R x R with everything outside the window 0 (what D sees of a non-square model); as is for 1:1."""
        if self.window is None:
            return images
        rows, columns = self.window
        boxed = torch.zeros_like(images)
        boxed[:, :, rows, columns] = images[:, :, rows, columns]
        return boxed

    def _fit_real(self, real: torch.Tensor) -> torch.Tensor:
        """Real images (N x C x R x R in [-1, 1]), already in the window as `aspect_fit` says (the dataset reads
        them so: `Capabilities.aspect`), letterboxed."""
        return self._letterbox(real)

    @property
    def augment(self) -> AdaptiveAugment:
        return self.state.augment

    # -- pieces ----------------------------------------------------------------------------------------------------

    def _styles(self, count: int, labels: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        """Styles of `count` fresh latents, mixed with a second latent's from a random layer with probability
        `style_mixing` (Karras et al. 2019, section 3.1)."""
        g = self.generator
        ws = g.map(torch.randn(count, g.latent_dim, device=device), labels)
        if self.config["style_mixing"] > 0:
            cutoff = int(torch.randint(1, g.num_ws, ()))
            if float(torch.rand(())) >= self.config["style_mixing"]:
                cutoff = g.num_ws  # no mixing this time
            other = g.map(torch.randn(count, g.latent_dim, device=device), labels)
            ws = torch.cat([ws[:, :cutoff], other[:, cutoff:]], dim=1)
        return ws

    def _fake(self, ws: torch.Tensor) -> torch.Tensor:
        return self._letterbox(self.generator.synthesis(ws, "random"))  # N x C x R x R, about [-1, 1]

    def _d(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(self.augment(images), labels)

    def _generator_main(self, count: int, labels, ctx) -> torch.Tensor:
        self.discriminator.requires_grad_(False)
        try:
            with ctx.autocast():
                ws = self._styles(count, labels, ctx.device)
                loss = F.softplus(-self._d(self._fake(ws), labels).float()).mean()
            ctx.backward_and_step(loss, "G")
        finally:
            self.discriminator.requires_grad_(True)
        with torch.no_grad():
            w_avg = self.generator.mapping.w_avg
            w_avg.copy_(ws[:, 0].detach().float().mean(dim=0).lerp(w_avg, W_AVG_BETA))
        return loss.detach()

    def _path_length(self, count: int, labels, ctx) -> torch.Tensor:
        """Karras et al. 2020a, eq. 4; the Jacobian-vector product through autograd on half a batch."""
        count = max(1, count // PL_BATCH_SHRINK)
        labels = labels[:count] if labels is not None else None
        with ctx.autocast():
            ws = self._styles(count, labels, ctx.device)
            images = self._fake(ws).float()
            noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
            (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
            lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()  # N
            pl_mean = self.state.pl_mean.lerp(lengths.mean().detach(), PL_DECAY)
            self.state.pl_mean.copy_(pl_mean)
            penalty = (lengths - pl_mean).square().mean()
            loss = penalty * self.config["pl_weight"] * self.config["pl_interval"]
        ctx.backward_and_step(loss, "G")
        return penalty.detach()

    def _discriminator_main(self, real: torch.Tensor, labels, ctx) -> torch.Tensor:
        with ctx.autocast():
            with torch.no_grad():
                fake = self._fake(self._styles(real.shape[0], labels, ctx.device))
            fake_logits = self._d(fake, labels).float()
            real_logits = self._d(real, labels).float()
            loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        self.augment.observe(real_logits)
        ctx.backward_and_step(loss, "D")
        return loss.detach()

    def _r1(self, real: torch.Tensor, labels, ctx) -> torch.Tensor:
        """R1 at the real images before augmentation (the gradient flows through A, as in StyleGAN2-ADA)."""
        real = real.detach().requires_grad_(True)
        with ctx.autocast():
            logits = self._d(real, labels).float()
        (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        penalty = grad.float().square().sum(dim=(1, 2, 3)).mean()
        loss = penalty * (r1_gamma(self.config, real.shape[0]) / 2) * self.config["r1_interval"]
        ctx.backward_and_step(loss, "D")
        return penalty.detach()

    # -- the TrainingTask contract ---------------------------------------------------------------------------------

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, labels = batch
        real = self._fit_real(images * 2 - 1)  # [0, 1] -> [-1, 1], in the aspect's window
        labels = labels.long() if self.conditional else None
        count, step, state = real.shape[0], ctx.step, self.state
        self.generator.train()
        self.discriminator.train()
        loss_g = self._generator_main(count, labels, ctx)
        if self.config["pl_weight"] > 0 and step % self.config["pl_interval"] == 0:
            state.last_pl.copy_(self._path_length(count, labels, ctx))
        loss_d = self._discriminator_main(real, labels, ctx)
        if step % self.config["r1_interval"] == 0:
            state.last_r1.copy_(self._r1(real, labels, ctx))
        state.images_seen += count
        if (step + 1) % ADA_INTERVAL == 0:
            r_t = self.augment.adjust(count * ADA_INTERVAL)
            if r_t is not None:
                state.last_rt.fill_(r_t)
        return {"loss_g": float(loss_g), "loss_d": float(loss_d), "pl": float(state.last_pl),
                "pl_mean": float(state.pl_mean), "r1": float(state.last_r1), "augment_p": float(self.augment.p),
                "r_t": float(state.last_rt), "kimg": float(state.images_seen) / 1000}

    @torch.no_grad()
    def sample(self, module: nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """Latents from `generator`; classes cycling for a conditional model; the fixed noise."""
        device = next(module.parameters()).device
        z = torch.randn(count, module.latent_dim, generator=generator, device=generator.device).to(device)
        return module.generate(z).float().clamp(0, 1)

    def model_module(self, ema: nn.Module | None) -> nn.Module:
        return ema if ema is not None else self.generator
