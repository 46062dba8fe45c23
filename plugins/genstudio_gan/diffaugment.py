"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random transformations are applied to real and generated images before the discriminator, and since
they are differentiable the generator is trained through them. Images are N x C x H x W in [-1, 1]; each image
gets its own random draw. The three policies follow the paper's section 3 and appendix:

- color: brightness + U(-0.5, 0.5); saturation: distance from the per-pixel channel mean x U(0, 2);
  contrast: distance from the image mean x U(0.5, 1.5).
- translation: shift by whole pixels, up to 1/8 of the size each way, filling with zeros (grey).
- cutout: zero a square half the image's size at a random centre (it may be cut by the border).
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # largest shift as a fraction of the image size
CUTOUT_RATIO = 0.5  # side of the cut-out square as a fraction of the image size


def _uniform(x: torch.Tensor, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    """One U(low, high) draw per image, shaped N x 1 x 1 x 1 to broadcast over it."""
    draw = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)
    return low + (high - low) * draw


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast, in that order."""
    x = x + _uniform(x, -0.5, 0.5, generator)
    mean = x.mean(dim=1, keepdim=True)  # N x 1 x H x W: the grey of each pixel
    x = (x - mean) * _uniform(x, 0.0, 2.0, generator) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # N x 1 x 1 x 1
    return (x - mean) * _uniform(x, 0.5, 1.5, generator) + mean


def translation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by integers in [-H/8, H/8] x [-W/8, W/8]; pixels shifted in are 0."""
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * TRANSLATION_RATIO + 0.5)), max(1, int(w * TRANSLATION_RATIO + 0.5))
    dy = torch.randint(-sy, sy + 1, (n, 1), generator=generator, device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1), generator=generator, device=x.device)
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy))  # C x (H + 2 sy) x (W + 2 sx)
    rows = torch.arange(h, device=x.device)[None, :] + sy - dy  # N x H: source row of each output row
    cols = torch.arange(w, device=x.device)[None, :] + sx - dx  # N x W
    batch = torch.arange(n, device=x.device)[:, None, None]
    shifted = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # N x H x W x C (advanced indices first)
    return shifted.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one square of side H/2 x W/2 per image, centred anywhere in the image."""
    n, _, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, h, (n, 1, 1), generator=generator, device=x.device) - ch // 2  # may start outside
    left = torch.randint(0, w, (n, 1, 1), generator=generator, device=x.device) - cw // 2
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)  # N x H x W
    return x * (~inside).unsqueeze(1).to(x.dtype)


_FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str) -> tuple[str, ...]:
    """"color,translation" -> ("color", "translation"); "none" or "" -> ()."""
    names = tuple(part.strip() for part in policy.split(",") if part.strip() and part.strip() != "none")
    unknown = [name for name in names if name not in _FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown[0]!r}; expected {', '.join(POLICIES)} or none")
    return names


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...], generator: torch.Generator | None = None):
    """Apply the policies named in `policy` (a comma-separated string or a tuple), in order."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    for name in names:
        x = _FUNCTIONS[name](x, generator)
    return x
