"""DRAWTask: DRAW's training step (genstudio's TrainingTask contract) and its held-out score.

Each step minimises the negative ELBO of the batch with one posterior trajectory per image (Gregor et al. 2015,
eq. 12, estimated by a single sample as in section 4):

    loss = mean_n [ L^x_n + L^z_n ] = mean_n [ -log p(x_n | c_T) + sum_t KL(Q(Z_t | h_enc_t) || N(0, I)) ],

in nats per image, with Adam. Gradient clipping, when wanted, is the runtime's (`--grad-clip`). No EMA copy: the
ELBO is measured on the weights it was trained with.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from genstudio_draw.model import DRAW

EVAL_BATCH = 64  # held-out images per evaluation batch


class DRAWTask:
    """One network ("draw": both LSTMs and both heads) and its Adam optimizer."""

    ema_module = None

    def __init__(self, model: DRAW, config: dict[str, Any]):
        self.modules: dict[str, torch.nn.Module] = {"draw": model}
        self.optimizers: dict[str, torch.optim.Optimizer] = {"draw": torch.optim.Adam(model.parameters(),
                                                                                      lr=config["lr"])}
        self.validation_fraction = float(config["validation_fraction"])  # read by the runtime: held-out share

    @property
    def model(self) -> DRAW:
        return self.modules["draw"]

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, _ = batch
        self.model.train()
        with ctx.autocast():
            log_px, kl = self.model.elbo_terms(images.float())  # N each
            recon, kl = -log_px.mean(), kl.mean()
            loss = recon + kl
        ctx.backward_and_step(loss, "draw")
        logs = {"loss": loss, "recon": recon, "kl": kl}
        if self.model.log_std is not None:
            logs["sigma"] = self.model.log_std.exp()
        return {name: float(value.detach()) for name, value in logs.items()}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """Decoded latents from the prior, drawn from `generator`."""
        device = next(module.parameters()).device
        z = torch.randn(count, module.latent_dim, generator=generator, device=generator.device).to(device)
        return module.generate(z).float().clamp(0, 1)

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        return self.model

    @torch.no_grad()
    def evaluate(self, module: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """The negative ELBO of the held-out `images` (float in [0, 1], on the CPU): per image and per dimension
        in nats, and in bits per dimension. One posterior trajectory per image, from the runtime's seeded RNG."""
        device = next(module.parameters()).device
        total, kl_total = 0.0, 0.0
        for start in range(0, len(images), EVAL_BATCH):
            x = images[start:start + EVAL_BATCH].to(device)
            log_px, kl = module.elbo_terms(x)
            total += float((kl - log_px).sum())
            kl_total += float(kl.sum())
        per_image = total / len(images)
        per_dim = per_image / module.dims
        return {"val_neg_elbo": per_image, "val_neg_elbo_per_dim": per_dim, "val_bits_per_dim": per_dim / math.log(2),
                "val_kl": kl_total / len(images), "val_images": len(images)}
