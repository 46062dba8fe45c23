"""CycleGANTask: one training step of Zhu et al. 2017 on genstudio's training runtime.

A batch is an unpaired (A, B) couple per row: the runtime's dataset for a two-domain backend
(`genstudio.domains.UnpairedDataset`) stacks an image of each domain into 6 channels. Each step:

  1. a random crop (and a random horizontal flip) of A and of B, drawn from torch's global generator;
  2. G's update: least-squares adversarial losses (Mao et al. 2017) of G_ab against D_b and G_ba against D_a,
     cycle consistency lambda * (|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|) and identity
     lambda_identity * lambda * (|G_ab(b) - b| + |G_ba(a) - a|) (section 5.2; paper weights lambda 10, 0.5);
  3. the discriminators' update on real images and fakes from the 50-image history buffers (Shrivastava et al.
     2017), each loss halved "to slow D's learning relative to G" (section 4), with DiffAugment when asked;
  4. learning rate: constant for `lr_constant` steps, then linear to 0 over `lr_decay` steps (section 4).

Everything that decides the next step lives in the runtime's checkpoint: weights, optimizers, the global RNG and
the history buffers (buffers of the `state` module), so a resumed run repeats the uninterrupted one exactly. The
learning rate is a function of the step alone. The first images seen are kept there as well, for the sample grid.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genstudio_cyclegan.networks import CycleGAN, PatchDiscriminator

SAMPLES = 4  # images per domain kept for the sample grid


def crop_size(config: dict[str, Any]) -> int:
    """The training crop: `crop`, or 0 -> resolution * 256 / 286 (the paper's load 286, crop 256), a multiple
    of 4."""
    side = int(config["resolution"])
    crop = int(config["crop"]) or max(8, side * 256 // 286 // 4 * 4)
    return min(crop, side)


def learning_rate(config: dict[str, Any], step: int) -> float:
    """The paper's schedule: `lr` for lr_constant steps, then linearly down to 0 over lr_decay steps."""
    decay = int(config["lr_decay"])
    past = max(0, step - int(config["lr_constant"]))
    factor = 1.0 if decay == 0 and past == 0 else max(0.0, 1.0 - past / max(1, decay))
    return float(config["lr"]) * factor


class TrainingState(nn.Module):
    """What a step needs besides weights, as buffers, so the runtime's checkpoint carries it: the two history
    buffers of generated images (Shrivastava et al. 2017) and the first images seen, for the sample grid."""

    def __init__(self, pool_size: int, crop: int, resolution: int):
        super().__init__()
        self.pool_size = pool_size
        for domain in ("a", "b"):
            self.register_buffer(f"pool_{domain}", torch.zeros(pool_size, 3, crop, crop))
            self.register_buffer(f"samples_{domain}", torch.zeros(SAMPLES, 3, resolution, resolution))
        self.register_buffer("pool_count", torch.zeros(2, dtype=torch.long))
        self.register_buffer("sample_count", torch.zeros((), dtype=torch.long))

    def remember(self, a: torch.Tensor, b: torch.Tensor) -> None:
        """Keep the first SAMPLES images of each domain (in [0, 1], uncropped)."""
        have = int(self.sample_count)
        take = min(SAMPLES - have, len(a))
        if take > 0:
            self.samples_a[have:have + take] = a[:take].detach()
            self.samples_b[have:have + take] = b[:take].detach()
            self.sample_count.fill_(have + take)

    def query(self, domain: str, images: torch.Tensor) -> torch.Tensor:
        """The authors' ImagePool.query: until the buffer is full each image goes in and is returned; then with
        probability 1/2 an image swaps places with a random stored one (the stored one is returned)."""
        if self.pool_size == 0:
            return images.detach()
        pool = getattr(self, f"pool_{domain}")
        slot = 0 if domain == "a" else 1
        out = []
        for image in images.detach():
            count = int(self.pool_count[slot])
            if count < self.pool_size:
                pool[count] = image
                self.pool_count[slot] += 1
                out.append(image)
            elif float(torch.rand(())) > 0.5:
                index = int(torch.randint(0, self.pool_size, ()))
                out.append(pool[index].clone())
                pool[index] = image
            else:
                out.append(image)
        return torch.stack(out)


def random_crop(images: torch.Tensor, crop: int) -> torch.Tensor:
    """A random crop of side `crop` and a random horizontal flip per image (global torch generator, CPU)."""
    n, _, height, width = images.shape
    tops = torch.randint(0, height - crop + 1, (n,)).tolist()
    lefts = torch.randint(0, width - crop + 1, (n,)).tolist()
    flips = (torch.rand(n) < 0.5).tolist()
    crops = []
    for image, top, left, flip in zip(images, tops, lefts, flips, strict=True):
        part = image[:, top:top + crop, left:left + crop]
        crops.append(part.flip(-1) if flip else part)
    return torch.stack(crops)


class CycleGANTask:
    """Both generators (one module, "G", what is saved), both discriminators and the history buffers."""

    ema_module = None  # the paper keeps no moving average; the saved model is the live generators

    def __init__(self, model: CycleGAN, config: dict[str, Any]):
        self.config = dict(config)
        self.crop = crop_size(config)
        d_a = PatchDiscriminator(config["ndf"], config["d_layers"])
        d_b = PatchDiscriminator(config["ndf"], config["d_layers"])
        self.modules: dict[str, nn.Module] = {
            "G": model, "D_a": d_a, "D_b": d_b,
            "state": TrainingState(config["pool_size"], self.crop, config["resolution"])}
        betas = (config["beta1"], config["beta2"])
        self.optimizers = {
            "G": torch.optim.Adam(model.parameters(), lr=config["lr"], betas=betas),
            "D": torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=config["lr"], betas=betas),
        }
        self.lambda_cycle = float(config["lambda_cycle"])
        self.lambda_identity = float(config["lambda_identity"])
        if config["diffaugment"] == "none":
            self.augment = None
        else:
            from genstudio_gan.diffaugment import diff_augment, parse_policy

            policy = parse_policy(config["diffaugment"])
            self.augment = lambda images: diff_augment(images, policy)

    def _seen(self, images: torch.Tensor) -> torch.Tensor:
        return self.augment(images) if self.augment is not None else images

    def _set_lr(self, step: int) -> float:
        lr = learning_rate(self.config, step)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
        return lr

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, _ = batch
        state: TrainingState = self.modules["state"]
        G, D_a, D_b = self.modules["G"], self.modules["D_a"], self.modules["D_b"]
        a_full, b_full = images[:, :3], images[:, 3:6]
        state.remember(a_full, b_full)
        real_a = random_crop(a_full.cpu(), self.crop).to(images.device) * 2 - 1  # [-1, 1]
        real_b = random_crop(b_full.cpu(), self.crop).to(images.device) * 2 - 1
        self._set_lr(ctx.step)
        mse, l1 = nn.functional.mse_loss, nn.functional.l1_loss
        # G: both directions and both cycles in one update
        D_a.requires_grad_(False)
        D_b.requires_grad_(False)
        try:
            with ctx.autocast():
                fake_b, fake_a = G.g_ab(real_a), G.g_ba(real_b)
                rec_a, rec_b = G.g_ba(fake_b), G.g_ab(fake_a)
                logits_b, logits_a = D_b(self._seen(fake_b)).float(), D_a(self._seen(fake_a)).float()
                adv = mse(logits_b, torch.ones_like(logits_b)) + mse(logits_a, torch.ones_like(logits_a))
                cycle = (l1(rec_a.float(), real_a) + l1(rec_b.float(), real_b)) * self.lambda_cycle
                loss_g = adv + cycle
                identity = torch.zeros((), device=images.device)
                if self.lambda_identity > 0:
                    identity = (l1(G.g_ab(real_b).float(), real_b) + l1(G.g_ba(real_a).float(), real_a)) \
                        * self.lambda_cycle * self.lambda_identity
                    loss_g = loss_g + identity
            ctx.backward_and_step(loss_g, "G")
        finally:
            D_a.requires_grad_(True)
            D_b.requires_grad_(True)
        # D: real against fakes from the history buffers, each halved
        pooled_b, pooled_a = state.query("b", fake_b.float()), state.query("a", fake_a.float())
        with ctx.autocast():
            loss_d = torch.zeros((), device=images.device)
            for D, real, fake in ((D_b, real_b, pooled_b), (D_a, real_a, pooled_a)):
                real_logits, fake_logits = D(self._seen(real)).float(), D(self._seen(fake)).float()
                loss_d = loss_d + 0.5 * (mse(real_logits, torch.ones_like(real_logits))
                                         + mse(fake_logits, torch.zeros_like(fake_logits)))
        ctx.backward_and_step(loss_d, "D")
        scalars = {"loss_g": adv, "cycle": cycle, "identity": identity, "loss_d": loss_d}
        return {name: float(value.detach()) for name, value in scalars.items()}

    @torch.no_grad()
    def sample(self, module: CycleGAN, count: int, generator: torch.Generator) -> torch.Tensor:
        """Rows of the kept images: A, G_ab(A), B, G_ba(B) (their first `count` / 4 columns)."""
        state: TrainingState = self.modules["state"]
        kept = max(1, min(int(state.sample_count), max(1, count // 4)))
        a, b = state.samples_a[:kept], state.samples_b[:kept]
        rows = [a, module.translate(a, "a2b"), b, module.translate(b, "b2a")]
        return torch.cat(rows).float().clamp(0, 1)

    def model_module(self, ema: nn.Module | None) -> nn.Module:
        return self.modules["G"]
