"""Sample grids: a fixed set of latents drawn from the (EMA) network, so successive grids show progress."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudio.fileio import atomic_write_bytes, real_folder

if TYPE_CHECKING:
    import torch

SAMPLES_FILE = "samples.png"
SAMPLES_DIR = "samples"


def draw_samples(task: Any, module: torch.nn.Module, count: int, seed: int, device: torch.device) -> torch.Tensor:
    """`count` images from `task.sample`, in eval mode, without touching the training RNG or the module's mode."""
    import torch

    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    was_training = module.training
    module.eval()
    try:
        with torch.random.fork_rng(devices=cuda_devices), torch.no_grad():
            generator = torch.Generator(device=device).manual_seed(seed)
            images = task.sample(module, count, generator)
    finally:
        module.train(was_training)
    return images.detach().float().clamp(0, 1).cpu()


def grid_png(images: torch.Tensor) -> bytes:
    """A near-square grid of N x C x H x W images in [0, 1] as PNG bytes."""
    import math

    import torch
    from PIL import Image
    from torchvision.utils import make_grid

    columns = max(1, math.ceil(math.sqrt(len(images))))
    grid = make_grid(images, nrow=columns, padding=2, pad_value=1.0)  # C x H' x W'
    array = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # H' x W' x 3
    image = Image.fromarray(array[:, :, 0] if images.shape[1] == 1 else array)  # make_grid repeats grey to RGB
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_samples(out_dir: Path, step: int, images: torch.Tensor) -> Path:
    """Write the grid as OUT/samples.png and OUT/samples/step-NNNNNN.png (both atomically)."""
    data = grid_png(images)
    history = real_folder(out_dir, SAMPLES_DIR) / f"step-{step:06d}.png"
    atomic_write_bytes(history, data)
    atomic_write_bytes(Path(out_dir) / SAMPLES_FILE, data)
    return history
