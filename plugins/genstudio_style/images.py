"""Images in and out of the stylizers, resizing, and colour preservation.

The public `stylize` methods take a PIL image or a float tensor C x H x W (or 1 x C x H x W) in [0, 1] and give
back the same type: a PIL RGB image for a PIL image, a 3 x H x W float tensor in [0, 1] on the input's device
for a tensor. Grayscale inputs are repeated to RGB.

Colour preservation is the luminance-only transfer of Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in
Neural Artistic Style Transfer" (arXiv:1606.05897, 2016): the output keeps the stylised luminance Y and takes the
chroma (I, Q of the YIQ colour space) of the content image.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F

from genstudio.errors import UserError

# NTSC YIQ (FCC 1953 coefficients): rows give Y, I, Q from R, G, B in [0, 1].
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(images: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W RGB -> N x 3 x H x W YIQ (Y in [0, 1], I and Q around 0)."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(images), images)


def yiq_to_rgb(images: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", _YIQ_TO_RGB.to(images), images)


def luminance(images: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W RGB -> N x 1 x H x W luma Y."""
    return rgb_to_yiq(images)[:, :1]


def keep_content_color(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised image's luminance with the content's chroma (I, Q), clamped to [0, 1]. Same sizes."""
    if stylized.shape[-2:] != content.shape[-2:]:
        content = F.interpolate(content, size=stylized.shape[-2:], mode="bilinear", align_corners=False)
    yiq = torch.cat([rgb_to_yiq(stylized)[:, :1], rgb_to_yiq(content)[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def match_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luminance to the content's mean and std (Gatys et al. 2016b, eq. 1)."""
    s_mean, s_std = style_y.mean(), style_y.std().clamp_min(1e-6)
    return ((style_y - s_mean) * (content_y.std() / s_std) + content_y.mean()).clamp(0, 1)


def to_batch(image: Any, name: str = "content") -> tuple[torch.Tensor, bool]:
    """(1 x 3 x H x W float tensor in [0, 1], whether the input was PIL). Accepts a PIL image, a C x H x W or
    1 x C x H x W tensor (C = 1 or 3), or a path to an image file (decoded through genstudio's allowlist)."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        from genstudio.data import open_image

        image = open_image(image, "RGB")
    if isinstance(image, Image.Image):
        import numpy as np

        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0  # H x W x 3
        return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous(), True
    if not isinstance(image, torch.Tensor):
        raise UserError(f"{name} must be a PIL image, a C x H x W tensor or an image path, got {type(image).__name__}")
    x = image.unsqueeze(0) if image.dim() == 3 else image
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] not in (1, 3):
        raise UserError(f"{name} must be one image, C x H x W with C = 1 or 3; got shape {tuple(image.shape)}")
    if x.shape[-1] < 8 or x.shape[-2] < 8:
        raise UserError(f"{name} is {x.shape[-1]} x {x.shape[-2]} pixels; it needs at least 8 x 8")
    x = x.float()
    return (x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x).clamp(0, 1), False


def to_output(batch: torch.Tensor, as_pil: bool) -> Any:
    """1 x 3 x H x W in [0, 1] -> a PIL RGB image, or a 3 x H x W tensor."""
    image = batch[0].detach().float().clamp(0, 1)
    if not as_pil:
        return image
    from PIL import Image

    array = image.mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()  # H x W x 3
    return Image.fromarray(array, mode="RGB")


def fit_size(batch: torch.Tensor, max_size: int | None) -> torch.Tensor:
    """Scale down (antialiased) so the longer side is at most `max_size`; None or 0 keeps the size."""
    h, w = batch.shape[-2:]
    if not max_size or max(h, w) <= max_size:
        return batch
    scale = max_size / max(h, w)
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return F.interpolate(batch, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def resize_to(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize to exactly `size` (H, W), antialiased when shrinking."""
    if tuple(batch.shape[-2:]) == tuple(size):
        return batch
    return F.interpolate(batch, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def finish(stylized: torch.Tensor, content: torch.Tensor, strength: float, preserve_color: bool) -> torch.Tensor:
    """Blend towards the content by `1 - strength` in pixel space, then optionally restore the content's colour."""
    if not 0.0 <= strength <= 1.0:
        raise UserError(f"strength must be between 0 and 1, got {strength}")
    out = stylized.clamp(0, 1)
    if strength < 1.0:
        out = strength * out + (1.0 - strength) * resize_to(content, out.shape[-2:])
    if preserve_color:
        out = keep_content_color(out, content)
    return out
