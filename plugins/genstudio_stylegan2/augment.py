"""Adaptive discriminator augmentation (ADA; Karras et al. 2020b, "Training Generative Adversarial Networks with
Limited Data"), with differentiable ops in plain torch.

Everything D sees, real and generated, in both networks' updates, passes through the same augmentation, each
transformation applied to each image independently with probability p (section 2), so G is trained through it
and never learns the augmentations while p stays below about 0.8 (section 2.2). The transformations follow the
paper's "bgc" pipeline (appendix B), built from DiffAugment-style differentiable ops (Zhao et al. 2020;
`genstudio_gan.diffaugment.translation` for the integer translation):

- blit: x-flip, rotation by a multiple of 90 degrees, integer translation up to 1/8 of the size;
- geometric: isotropic scaling (log2-normal, sigma 0.2) and rotation (uniform, applied with p_rot =
  1 - sqrt(1 - p) twice, as the paper does), one bilinear resampling with reflected borders;
- colour: brightness (+ N(0, 0.2)), contrast (x log2-normal, sigma 0.5), saturation (x log2-normal, sigma 1)
  around the per-pixel grey.

The strength adapts to overfitting (section 3): r_t = E[sign(D(real))] over the last `ADA_INTERVAL` D steps;
p rises by batch * interval / ada_images when r_t > target (0.6) and falls by as much below it, clamped to [0, 1].
p and the running sums are buffers, so checkpoints carry them and a resumed run continues the same schedule.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from genstudio_gan.diffaugment import translation
from torch import nn

ADA_INTERVAL = 4  # D steps between adjustments of p (Karras et al. 2020b, section 3)


def _chance(x: torch.Tensor, p: float) -> torch.Tensor:
    """N booleans, each True with probability p, shaped N x 1 x 1 x 1."""
    return (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p)


def _log2_normal(x: torch.Tensor, std: float) -> torch.Tensor:
    return torch.exp2(torch.randn(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * std)


def blit(x: torch.Tensor, p: float) -> torch.Tensor:
    """x-flip, rotations by 90 degrees and integer translation, each with probability p per image."""
    x = torch.where(_chance(x, p), x.flip(3), x)
    quarter = torch.randint(1, 4, (x.shape[0], 1, 1, 1), device=x.device)
    rotate = _chance(x, p)
    if x.shape[2] == x.shape[3]:  # square images: rotations keep the shape
        for k in (1, 2, 3):
            x = torch.where(rotate & (quarter == k), torch.rot90(x, k, dims=(2, 3)), x)
    return torch.where(_chance(x, p), translation(x), x)


def geometric(x: torch.Tensor, p: float) -> torch.Tensor:
    """Isotropic scaling and arbitrary rotation in one bilinear resampling (reflected borders)."""
    n = x.shape[0]
    scale = torch.where(_chance(x, p), _log2_normal(x, 0.2), torch.ones_like(x[:, :1, :1, :1])).view(n)
    p_rot = 1 - math.sqrt(max(0.0, 1 - p))  # the paper's two rotations, each with p_rot
    angle = torch.zeros(n, device=x.device, dtype=x.dtype)
    for _ in range(2):
        draw = (torch.rand(n, device=x.device, dtype=x.dtype) * 2 - 1) * math.pi
        angle = angle + torch.where(_chance(x, p_rot).view(n), draw, torch.zeros_like(draw))
    if bool((scale == 1).all()) and bool((angle == 0).all()):
        return x
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale  # output -> input coordinates
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)  # N x 2 x 3
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def color(x: torch.Tensor, p: float) -> torch.Tensor:
    """Brightness, contrast and saturation, each with probability p per image (images in [-1, 1])."""
    x = x + torch.where(_chance(x, p), torch.randn(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 0.2,
                        torch.zeros_like(x[:, :1, :1, :1]))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = torch.where(_chance(x, p), (x - mean) * _log2_normal(x, 0.5) + mean, x)
    if x.shape[1] > 1:
        grey = x.mean(dim=1, keepdim=True)
        x = torch.where(_chance(x, p), (x - grey) * _log2_normal(x, 1.0) + grey, x)
    return x


class AdaptiveAugment(nn.Module):
    """The augmentation pipeline and its strength p (buffers: p, the sum of sign(D(real)) and its count)."""

    def __init__(self, mode: str, p: float, target: float, speed_images: int):
        super().__init__()
        self.adaptive = mode == "ada"
        self.enabled = mode in ("ada", "fixed")
        self.target, self.speed_images = target, speed_images
        self.register_buffer("p", torch.tensor(float(p) if self.enabled else 0.0, dtype=torch.float64))
        self.register_buffer("sign_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("sign_count", torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = float(self.p)
        if not self.enabled or p <= 0:
            return x
        return color(geometric(blit(x, p), p), p)

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        """Accumulate sign(D(real)) of one D step (the overfitting heuristic r_t of section 3)."""
        if self.adaptive:
            self.sign_sum += real_logits.detach().sign().sum().double()
            self.sign_count += real_logits.numel()

    @torch.no_grad()
    def adjust(self, images: int) -> float | None:
        """After every ADA_INTERVAL D steps of `images` images in all: move p toward r_t = target; returns r_t."""
        if not self.adaptive or float(self.sign_count) == 0:
            return None
        r_t = float(self.sign_sum / self.sign_count)
        step = math.copysign(images / self.speed_images, r_t - self.target) if r_t != self.target else 0.0
        self.p.copy_(torch.clamp(self.p + step, 0.0, 1.0))
        self.sign_sum.zero_()
        self.sign_count.zero_()
        return r_t
