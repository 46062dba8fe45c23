"""Image preparation shared by the feature extractors: validate, match channels, resize.

Its own module so that `features` (which picks an extractor) and the extractors themselves (`inception`,
`external`) can all use it without importing each other. Importing it imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genstudio.errors import UserError

if TYPE_CHECKING:
    import torch


def check_images(images: Any) -> torch.Tensor:
    """A float N x C x H x W tensor with C in {1, 3}; UserError otherwise."""
    import torch

    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise UserError(f"images must be an N x C x H x W tensor with 1 or 3 channels, got {shape}")
    if not images.is_floating_point():
        raise UserError(f"images must be floats in [0, 1], got {images.dtype} (divide uint8 images by 255)")
    return images.detach().to("cpu", torch.float32)


def match_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Grayscale -> 3 channels by repetition; RGB -> 1 channel by ITU-R BT.601 luma (PIL's "L" conversion)."""
    import torch

    if channels is None or images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    if channels == 1:
        luma = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype).view(1, 3, 1, 1)
        return (images * luma).sum(dim=1, keepdim=True)
    raise UserError(f"feature network expects {channels} input channels; only 1 or 3 are supported")


def resize_float(images: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    """Bicubic resize with antialiasing (torch's antialias=True follows PIL's filter widths), clamped to [0, 1]."""
    import torch.nn.functional as F

    if size is None or tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
