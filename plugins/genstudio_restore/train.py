"""RestoreTask: one training step of the restorer on genstudio's training runtime.

Each step, half the clean images are mirrored left-right (more views of a small folder), every one gets one of
the learnt tasks (cycling through them, so each sees a share of every batch) and its self-made degradation
(`genstudio_restore.degrade`). Then:

  1. G's update: L1 to the clean image, weighted `1 + lambda_hole` inside the holes (the hole/valid weighting of
     Liu et al. 2018, eq. 1-2), each image's loss divided by its task's running mean loss (`task_balance=scale`,
     `TaskScales`; `pixels`: one mean over the batch, as 0.2 trained); after `adv_warmup` steps, on the images of
     the `adv_tasks` (inpaint by default), a least-squares adversarial loss against the PatchGAN (Mao et al. 2017)
     weighted `lambda_adv`; and, when a VGG19 is available, the perceptual loss of Johnson et al. 2016 (L1
     between relu1_1, relu2_1 and relu3_1 features) weighted `lambda_perceptual`;
  2. D's update (after the warm-up): real clean images against the restored ones, least squares, halved (Isola et
     al. 2017).

The warm-up is the two-stage schedule of Iizuka et al. 2017 (section 3.3: the completion network first trained
with the reconstruction loss alone, then jointly with the discriminator): G learns the bulk of the fill from L1
before D's gradients, strong against a blurry early fill, can swamp it. G's Adam uses the usual (0.9, 0.999)
betas for a regression; D keeps the GAN's (0.5, 0.999) (Radford et al. 2016).

Why the balance: L1's gradient is a sign per pixel, so under one pixel mean an upscaled image got a seventh of
the pull of a hole's pixel however near the answer it already was, and its refinements over bicubic, tens of times
smaller than the holes' errors, were lost in the holes' updates: the shared network left 2x photo upscaling below
bicubic (bench/restore.py, photos, 1500 CPU steps at width 8: 34.14 dB against bicubic's 34.47; balanced 34.83,
with the EMA too 34.85; upscaling alone 34.88; the holes 28.81 / 28.71 / 28.67 against Telea's 28.55). The saved model
is the moving average of G's weights (fit's `ema_decay`, warmed up; Polyak & Juditsky 1992), as super-resolution
trainers keep (BasicSR's ema_decay 0.999): the residual over bicubic is small, so the last steps' weight noise costs
PSNR (pixel mean alone: 34.14 live, 34.53 averaged).

Everything that decides the next step lives in the runtime's checkpoint (weights, optimizers, the global RNG that
seeds the degradations), so a resumed run repeats the uninterrupted one (to float rounding: tests/restore). The
first images seen are kept as buffers for the sample grid.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genstudio_restore import TASKS
from genstudio_restore.degrade import degrade_batch
from genstudio_restore.networks import PatchDiscriminator, Restorer

SAMPLES = 4
PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1")


class SampleState(nn.Module):
    """The first clean images seen, for the sample grid (buffers: they travel in the checkpoint)."""

    def __init__(self, resolution: int):
        super().__init__()
        self.register_buffer("images", torch.zeros(SAMPLES, 3, resolution, resolution))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def remember(self, images: torch.Tensor) -> None:
        have = int(self.count)
        take = min(SAMPLES - have, len(images))
        if take > 0:
            self.images[have:have + take] = images[:take].detach()
            self.count.fill_(have + take)


class TaskScales(nn.Module):
    """Each task's running mean reconstruction loss (a buffer per TASKS entry, 0 until the task is first seen; it
    travels in the checkpoint). Dividing a task's loss by it is the multi-task weighting of Kendall et al. 2018
    ("Multi-task learning using uncertainty to weigh losses", eq. 10 with a Laplace likelihood, each task's scale
    held at its optimum, the mean absolute error): every task's loss is about 1, so a task whose errors are small
    (upscaling's residual over bicubic) gets as much of the gradient as one whose errors are large (holes)."""

    def __init__(self, decay: float = 0.99):
        super().__init__()
        self.decay = decay
        self.register_buffer("scale", torch.zeros(len(TASKS)))

    def normalise(self, losses: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """N per-image losses of the tasks `index` (N) -> the same divided by their task's running scale, which
        is first updated with this batch (detached: the scale is a statistic, not learnt)."""
        with torch.no_grad():
            for task in index.unique():
                seen = losses.detach()[index == task].float().mean()
                old = self.scale[task]
                self.scale[task] = torch.where(old > 0, self.decay * old + (1 - self.decay) * seen, seen)
        return losses / self.scale[index].clamp_min(1e-6)


def learnt_tasks(config: dict[str, Any], key: str = "tasks") -> tuple[str, ...]:
    """The `tasks` setting (or `adv_tasks`, which may be empty) as names in TASKS order; a one-line UserError for
    an unknown name or an empty `tasks`."""
    from genstudio.errors import UserError

    names = [part.strip() for part in str(config[key]).split(",") if part.strip()]
    unknown = [name for name in names if name not in TASKS]
    if unknown or (not names and key == "tasks"):
        raise UserError(f"restore: {key} must be a comma-separated list of {', '.join(TASKS)}, got "
                        f"{config[key]!r}")
    return tuple(task for task in TASKS if task in names)


class RestoreTask:
    ema_module = "G"  # the saved model is the weights' moving average (fit's ema_decay; 0: the live network)

    def __init__(self, model: Restorer, config: dict[str, Any], vgg: nn.Module | None):
        self.config = dict(config)
        self.tasks = learnt_tasks(config)
        self.modules: dict[str, nn.Module] = {"G": model, "samples": SampleState(int(config["resolution"]))}
        self.balance = config["task_balance"]
        if self.balance == "scale":
            self.modules["scales"] = TaskScales()
        self.optimizers = {"G": torch.optim.Adam(model.parameters(), lr=config["lr"], betas=(0.9, 0.999))}
        self.lambda_adv = float(config["lambda_adv"])
        self.adv_warmup = int(config["adv_warmup"])
        self.adv_tasks = tuple(task for task in learnt_tasks(config, "adv_tasks") if task in self.tasks)
        if self.lambda_adv > 0 and self.adv_tasks:
            self.modules["D"] = PatchDiscriminator(int(config["ndf"]), int(config["d_layers"]))
            self.optimizers["D"] = torch.optim.Adam(self.modules["D"].parameters(), lr=config["lr"],
                                                    betas=(0.5, 0.999))
        self.vgg = vgg

    def to(self, device: torch.device) -> RestoreTask:
        if self.vgg is not None:
            self.vgg = self.vgg.to(device)
        return self

    def _tasks_for(self, count: int, step: int) -> list[str]:
        return [self.tasks[(step + index) % len(self.tasks)] for index in range(count)]

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        clean, _ = batch
        clean = clean[:, :3] if clean.shape[1] >= 3 else clean.expand(-1, 3, -1, -1)
        G = self.modules["G"]
        self.modules["samples"].remember(clean)
        flip = torch.rand(len(clean)) < 0.5  # mirrored halves: twice the views of a small folder (global RNG)
        clean = torch.where(flip.to(clean.device)[:, None, None, None], clean.flip(-1), clean)
        tasks = self._tasks_for(len(clean), ctx.step)
        damaged, mask = (t.to(clean.device) for t in degrade_batch(clean, tasks, self.config))
        index = torch.tensor([TASKS.index(task) for task in tasks], device=clean.device)
        l1 = nn.functional.l1_loss
        D = self.modules.get("D") if ctx.step >= self.adv_warmup else None  # L1 alone through the warm-up
        judged = torch.tensor([row for row, task in enumerate(tasks) if task in self.adv_tasks], dtype=torch.long,
                              device=clean.device)  # the images of the tasks the adversarial loss applies to
        if not len(judged):
            D = None
        if D is not None:
            D.requires_grad_(False)
        try:
            with ctx.autocast():
                restored = G(damaged, mask, index)
                error = (restored.float() - clean).abs()
                per_image = (error + float(self.config["lambda_hole"]) * error * mask).mean((1, 2, 3))  # N
                if self.balance == "scale":
                    per_image = self.modules["scales"].normalise(per_image, index)
                loss = per_image.mean()
                adv = torch.zeros((), device=clean.device)
                if D is not None:
                    logits = D(restored[judged] * 2 - 1).float()
                    adv = nn.functional.mse_loss(logits, torch.ones_like(logits))
                    loss = loss + self.lambda_adv * adv
                perceptual = torch.zeros((), device=clean.device)
                if self.vgg is not None:
                    ours = self.vgg(restored.float(), PERCEPTUAL_LAYERS)
                    theirs = self.vgg(clean, PERCEPTUAL_LAYERS)
                    perceptual = sum(l1(ours[name], theirs[name]) for name in PERCEPTUAL_LAYERS)
                    loss = loss + float(self.config["lambda_perceptual"]) * perceptual
            ctx.backward_and_step(loss, "G")
        finally:
            if D is not None:
                D.requires_grad_(True)
        scalars = {"l1": l1(restored.float().detach(), clean), "adv": adv, "perceptual": perceptual}
        if D is not None:
            with ctx.autocast():
                real, fake = D(clean[judged] * 2 - 1).float(), D(restored.detach()[judged] * 2 - 1).float()
                loss_d = 0.5 * (nn.functional.mse_loss(real, torch.ones_like(real))
                                + nn.functional.mse_loss(fake, torch.zeros_like(fake)))
            ctx.backward_and_step(loss_d, "D")
            scalars["loss_d"] = loss_d
        return {name: float(value.detach()) for name, value in scalars.items()}

    @torch.no_grad()
    def sample(self, module: Restorer, count: int, generator: torch.Generator) -> torch.Tensor:
        """For each learnt task, a row of damaged images and a row of their restorations (degradations drawn from
        a generator forked from `generator`, so successive grids show the same damage)."""
        state = self.modules["samples"]
        kept = max(1, min(int(state.count), max(1, count // (2 * len(self.tasks)))))
        clean = state.images[:kept]
        rows = []
        seed = int(torch.randint(0, 2**31 - 1, (), generator=generator, device=generator.device))  # cuda too
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for task in self.tasks:
                damaged, mask = (t.to(clean.device) for t in degrade_batch(clean, [task] * kept, self.config))
                rows += [damaged, module.restore(damaged, mask, task)]
        return torch.cat(rows).float().clamp(0, 1)

    def model_module(self, ema: nn.Module | None) -> nn.Module:
        return ema if ema is not None else self.modules["G"]
