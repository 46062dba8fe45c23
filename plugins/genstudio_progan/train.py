"""ProGANTask: one training step of a progressive GAN (genstudio's TrainingTask contract).

Each step looks its position up in the growth schedule from the global step alone (`schedule.Schedule`), sets
both networks' stage and alpha, takes the first `batch` real images of the run's batch, downsamples them to the
stage's size and, while a stage fades in, blends them with the previous size as G's output is blended (Karras et
al. 2018, figure 2 caption). Then `n_critic` D updates and one G update as in the GAN family (`genstudio_gan.train`:
G's update reuses the last D update's fakes, D frozen during it), with the paper's drift term
eps * E[D(x)^2] added to D's loss (appendix A.1). At the first step of each stage both optimizers' moments are
cleared when `reset_optimizer` is on (the paper's official code, `reset_opt_for_new_lod`).

Resume is exact at any step, in a fade-in too: the position is recomputed from the step, the buffers holding
stage and alpha travel in the modules' state dicts, and the optimizers' state is the checkpoint's. The step logs
`stage`, `resolution` and `alpha` with the losses, so metrics.jsonl (and the app's training view) shows them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from genstudio_gan.losses import GP_WEIGHT, discriminator_loss, generator_loss, gradient_penalty

from genstudio_progan.networks import ProDiscriminator, ProGenerator
from genstudio_progan.schedule import Position, Schedule, parse_stage_batch


def real_at(images: torch.Tensor, position: Position) -> torch.Tensor:
    """Real images N x C x R x R in [-1, 1] as the discriminator sees them at `position`: average-pooled to the
    stage's size and, during a fade-in, (1 - alpha) * upsample(downsample(x)) + alpha * x (figure 2 caption)."""
    size = position.resolution
    if images.shape[-1] != size:
        images = F.adaptive_avg_pool2d(images, size)
    if position.alpha < 1.0 and position.stage > 0:
        coarse = F.interpolate(F.avg_pool2d(images, 2), scale_factor=2, mode="nearest")
        images = torch.lerp(coarse, images, position.alpha)
    return images


class ProGANTask:
    """G and D with one Adam each; the runtime keeps the EMA copy of G (stage and alpha buffers included)."""

    ema_module = "G"

    def __init__(
        self,
        generator: ProGenerator,  # what build(config) returns
        discriminator: ProDiscriminator,
        config: dict[str, Any],  # the resolved backend config
    ):
        self.generator, self.discriminator = generator, discriminator  # unwrapped: their growth buffers are set here
        self.latent_dim = generator.latent_dim
        self.modules: dict[str, torch.nn.Module] = {"G": generator, "D": discriminator}
        betas = (config["beta1"], config["beta2"])
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "G": torch.optim.Adam(generator.parameters(), lr=config["lr"], betas=betas, eps=1e-8),
            "D": torch.optim.Adam(discriminator.parameters(), lr=config["lr"], betas=betas, eps=1e-8),
        }
        self.config = config
        self.loss = config["loss"]
        self.drift = float(config["drift"])
        self.n_critic = int(config["n_critic"])
        self.reset_optimizer = bool(config["reset_optimizer"])
        self._schedule: Schedule | None = None
        self._schedule_batch = 0

    @property
    def G(self) -> torch.nn.Module:
        return self.modules["G"]

    @property
    def D(self) -> torch.nn.Module:
        return self.modules["D"]

    def schedule(self, run_batch: int) -> Schedule:
        """The schedule for the runtime's batch size (constant over a run: its batches drop the last partial one)."""
        if self._schedule is None or self._schedule_batch != run_batch:
            self._schedule = Schedule(self.config["resolution"], self.config["stage_images"],
                                      self.config["fade_fraction"], parse_stage_batch(self.config["stage_batch"]),
                                      run_batch)
            self._schedule_batch = run_batch
        return self._schedule

    def _discriminator_step(self, real: torch.Tensor, ctx, keep_fake: bool) -> tuple[dict, torch.Tensor | None]:
        with ctx.autocast():
            with torch.set_grad_enabled(keep_fake):
                fake = self.generator.synthesize(torch.randn(real.shape[0], self.latent_dim, device=real.device))
            real_logits = self.D(real)
            fake_logits = self.D(fake.detach())
            loss = discriminator_loss(self.loss, real_logits.float(), fake_logits.float())
            logs = {"loss_d": loss.detach(), "d_real": real_logits.detach().float().mean(),
                    "d_fake": fake_logits.detach().float().mean()}
            if self.loss == "wgan-gp":
                gp = gradient_penalty(self.D, real, fake)
                loss = loss + GP_WEIGHT * gp
                logs["gp"] = gp.detach()
            if self.drift > 0:  # keeps the critic's values from drifting far from 0 (appendix A.1)
                loss = loss + self.drift * real_logits.float().pow(2).mean()
        ctx.backward_and_step(loss, "D")
        return logs, (fake if keep_fake else None)

    def _generator_step(self, fake: torch.Tensor, ctx) -> torch.Tensor:
        self.D.requires_grad_(False)  # no D gradients from G's loss
        try:
            with ctx.autocast():
                loss = generator_loss(self.loss, self.D(fake).float())
            ctx.backward_and_step(loss, "G")
        finally:
            self.D.requires_grad_(True)
        return loss.detach()

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, _ = batch
        schedule = self.schedule(images.shape[0])
        position = schedule.at(ctx.step)
        if self.reset_optimizer and ctx.step > 0 and schedule.at(ctx.step - 1).stage != position.stage:
            for optimizer in self.optimizers.values():
                optimizer.state.clear()  # fresh Adam moments for the new stage
        for network in (self.generator, self.discriminator):
            network.set_growth(position.stage, position.alpha)
        real = real_at(images[: position.batch] * 2 - 1, position)  # [0, 1] -> [-1, 1] at the stage's size
        self.G.train()
        self.D.train()
        for critic_step in range(self.n_critic):
            logs, fake = self._discriminator_step(real, ctx, keep_fake=critic_step == self.n_critic - 1)
        logs["loss_g"] = self._generator_step(fake, ctx)
        logs.update(stage=position.stage, resolution=position.resolution, alpha=position.alpha)
        return {name: float(value) for name, value in logs.items()}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """Latents from `generator`; images at the module's stage upsampled to the full size (`generate`)."""
        device = next(module.parameters()).device
        z = torch.randn(count, module.latent_dim, generator=generator, device=generator.device).to(device)
        return module.generate(z).float().clamp(0, 1)

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        return ema if ema is not None else self.generator
