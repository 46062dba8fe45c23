"""VAETask: the training step of both VAE backends (genstudio's TrainingTask contract), and their held-out score.

Each step maximises a one-sample estimate of the (beta-weighted) ELBO of the batch (Kingma & Welling 2014,
equation 7; Higgins et al. 2017, equation 4):

    loss = mean_n [ -log p(x_n|z_n) + beta * w(step) * KL(q(z|x_n) || p(z)) ],

with the warm-up factor w rising linearly from 1/kl_warmup_steps to 1 over the first kl_warmup_steps steps
(Bowman et al. 2016; Sonderby et al. 2016), so the decoder learns to use z before the KL pulls the posteriors to
the prior. The logged `neg_elbo` is the unweighted bound (beta = w = 1), in nats per image. No EMA copy: the
ELBO is measured on the weights it was trained with.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from genstudio_vae.model import ConvVAE

EVAL_BATCH = 64  # held-out images per evaluation batch


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """beta * w(step): w = min(1, (step + 1) / warmup_steps), or 1 without warm-up."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, (step + 1) / warmup_steps)


class VAETask:
    """One network ("vae": encoder and decoder together) and its Adam optimizer."""

    ema_module = None

    def __init__(self, model: ConvVAE, config: dict[str, Any]):
        self.modules: dict[str, torch.nn.Module] = {"vae": model}
        self.optimizers: dict[str, torch.optim.Optimizer] = {"vae": torch.optim.Adam(model.parameters(),
                                                                                     lr=config["lr"])}
        self.beta = float(config["beta"])
        self.warmup_steps = int(config["kl_warmup_steps"])
        self.validation_fraction = float(config["validation_fraction"])  # read by the runtime: held-out share
        self.conditional = model.num_classes > 0

    @property
    def model(self) -> ConvVAE:
        return self.modules["vae"]

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, labels = batch
        labels = labels.long() if self.conditional else None
        weight = kl_weight(ctx.step, self.beta, self.warmup_steps)
        self.model.train()
        with ctx.autocast():
            log_px_z, kl = self.model.elbo_terms(images, labels)  # N each, float32
            recon, kl = -log_px_z.mean(), kl.mean()
            loss = recon + weight * kl
        ctx.backward_and_step(loss, "vae")
        logs = {"loss": loss, "recon": recon, "kl": kl, "neg_elbo": recon + kl}
        if self.model.log_std is not None:
            logs["sigma"] = self.model.log_std.exp()
        return {name: float(value.detach()) for name, value in logs.items()} | {"kl_weight": weight}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """Decoded latents from the prior, drawn from `generator`; labels 0, 1, 2, ... for the conditional model."""
        device = next(module.parameters()).device
        z = torch.randn(count, module.latent_dim, generator=generator, device=generator.device).to(device)
        return module.generate(z).float().clamp(0, 1)

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        return self.model

    @torch.no_grad()
    def evaluate(self, module: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """The negative ELBO of the held-out `images` (float in [0, 1], on the CPU): per image and per dimension
        in nats, and in bits per dimension. One posterior sample per image, from the runtime's seeded RNG."""
        device = next(module.parameters()).device
        total, kl_total = 0.0, 0.0
        for start in range(0, len(images), EVAL_BATCH):
            x = images[start:start + EVAL_BATCH].to(device)
            y = labels[start:start + EVAL_BATCH].to(device).long() if self.conditional else None
            log_px_z, kl = module.elbo_terms(x, y)
            total += float((kl - log_px_z).sum())
            kl_total += float(kl.sum())
        per_image = total / len(images)
        per_dim = per_image / module.dims
        return {"val_neg_elbo": per_image, "val_neg_elbo_per_dim": per_dim, "val_bits_per_dim": per_dim / math.log(2),
                "val_kl": kl_total / len(images), "val_images": len(images)}
