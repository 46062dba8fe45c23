"""GANTask: the training step shared by the three GAN backends (genstudio's TrainingTask contract).

One call of `train_step` gets one batch of real images and makes `n_critic` discriminator updates then one
generator update. With n_critic > 1 every D update reuses the same real batch (with fresh noise, fresh fakes and,
with DiffAugment, fresh augmentations): splitting the batch would shrink the batches batch norm and minibatch
std see, and the runtime's data order stays one batch per step. The R1 penalty, when on, is computed at every D
update (no lazy regularisation). For the conditional backend, fakes are drawn with the real batch's labels, so
G and D see the dataset's class balance. D's parameters are frozen (requires_grad False) during G's update, so
G's loss leaves no gradients in D whenever the runtime clears them. G's update reuses the fakes of the last D
update (drawn with G's graph kept), so a step runs G forward once, not twice.

Precision: losses and penalties are computed in float32 on the (possibly autocast) logits; the penalties' input
gradients come from `torch.autograd.grad` without the runtime's fp16 loss scale, so they may underflow under fp16
(bf16 is fine).
"""

from __future__ import annotations

from typing import Any

import torch

from genstudio_gan.diffaugment import diff_augment, parse_policy
from genstudio_gan.losses import GP_WEIGHT, discriminator_loss, generator_loss, gradient_penalty, r1_penalty
from genstudio_gan.networks import GeneratorBase


def make_optimizer(config: dict[str, Any], params, lr: float) -> torch.optim.Optimizer:
    """Adam (betas from the config) or RMSprop (betas unused) at learning rate `lr`."""
    if config["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(config["beta1"], config["beta2"]))
    if config["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {config['optimizer']!r}")


class GANTask:
    """G and D with their optimizers; the runtime keeps the EMA copy of G."""

    ema_module = "G"

    def __init__(
        self,
        generator: GeneratorBase,  # what build(config) returns
        discriminator: torch.nn.Module,  # called as D(images in [-1, 1], labels) -> N logits
        config: dict[str, Any],  # the resolved backend config
    ):
        self.latent_dim = generator.latent_dim
        self.modules: dict[str, torch.nn.Module] = {"G": generator, "D": discriminator}
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "G": make_optimizer(config, generator.parameters(), config["lr_g"]),
            "D": make_optimizer(config, discriminator.parameters(), config["lr_d"]),
        }
        self.loss = config["loss"]
        self.r1_gamma = float(config["r1_gamma"])
        self.n_critic = int(config["n_critic"])
        self.augment = parse_policy(config["diffaugment"])
        self.conditional = generator.num_classes > 0

    # The step reaches the networks through `modules` and their forward only, so the runtime may wrap them.
    @property
    def G(self) -> torch.nn.Module:
        return self.modules["G"]

    @property
    def D(self) -> torch.nn.Module:
        return self.modules["D"]

    def _fake(self, count: int, labels: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        """`count` generated images in [-1, 1] (G's forward gives [0, 1]) from fresh noise."""
        return self.G(torch.randn(count, self.latent_dim, device=device), labels) * 2 - 1

    def _critic(self, labels: torch.Tensor | None):
        """D as a function of images only (labels fixed), for the gradient penalties."""
        return lambda images: self.D(images, labels)

    def _discriminator_step(self, real: torch.Tensor, labels, ctx, keep_fake: bool) -> tuple[dict, torch.Tensor | None]:
        """One D update. With `keep_fake` the fakes keep G's graph and are returned for G's update (one G forward
        per step instead of two, as in pytorch/examples' DCGAN); D itself always sees them detached."""
        with ctx.autocast():
            with torch.set_grad_enabled(keep_fake):
                fake = self._fake(real.shape[0], labels, real.device)
            real_seen = diff_augment(real, self.augment)
            fake_seen = diff_augment(fake.detach(), self.augment)
            real_logits = self.D(real_seen, labels)
            fake_logits = self.D(fake_seen, labels)
            loss = discriminator_loss(self.loss, real_logits.float(), fake_logits.float())
            logs = {"loss_d": loss.detach(), "d_real": real_logits.detach().float().mean(),
                    "d_fake": fake_logits.detach().float().mean()}  # tensors: one device sync, at the end
            if self.loss == "wgan-gp":
                gp = gradient_penalty(self._critic(labels), real_seen, fake_seen)
                loss = loss + GP_WEIGHT * gp
                logs["gp"] = gp.detach()
            if self.r1_gamma > 0:
                r1 = r1_penalty(self._critic(labels), real_seen, self.r1_gamma)
                loss = loss + r1
                logs["r1"] = r1.detach()
        ctx.backward_and_step(loss, "D")
        return logs, (fake if keep_fake else None)

    def _generator_step(self, fake: torch.Tensor, labels, ctx) -> torch.Tensor:
        """One G update on `fake` (images in [-1, 1] still attached to G's graph), judged by the updated D."""
        self.D.requires_grad_(False)  # no D gradients from G's loss
        try:
            with ctx.autocast():
                loss = generator_loss(self.loss, self.D(diff_augment(fake, self.augment), labels).float())
            ctx.backward_and_step(loss, "G")
        finally:
            self.D.requires_grad_(True)
        return loss.detach()

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, labels = batch
        real = images * 2 - 1  # [0, 1] -> [-1, 1], G's tanh range
        labels = labels.long() if self.conditional else None
        self.G.train()
        self.D.train()
        for critic_step in range(self.n_critic):
            logs, fake = self._discriminator_step(real, labels, ctx, keep_fake=critic_step == self.n_critic - 1)
        logs["loss_g"] = self._generator_step(fake, labels, ctx)
        return {name: float(value) for name, value in logs.items()}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """Latents from `generator` (created on its device, then moved); labels 0, 1, 2, ... cycling through the
        classes for the conditional backend. Runs in eval mode (batch norm's running statistics)."""
        device = next(module.parameters()).device
        z = torch.randn(count, module.latent_dim, generator=generator, device=generator.device).to(device)
        labels = torch.arange(count, device=device) % module.num_classes if module.num_classes else None
        was_training = module.training
        module.eval()
        try:
            return module.generate(z, labels).float().clamp(0, 1)
        finally:
            module.train(was_training)

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        return ema if ema is not None else self.G
