"""Self-made degradations: the (damaged, clean) pairs the restorer learns from, made from the user's clean images.

  inpaint   random free-form strokes (Yu et al. 2019, Algorithm 1: a random walk of thick lines with round joints)
            and random boxes; 10-50% of the image, as the masks of Liu et al. 2018 cover;
  denoise   JPEG compression at a random quality (>= jpeg_min) then Gaussian noise of a random standard deviation
            (<= noise_max), each on half the images, at least one of them on every image;
  upscale   bicubic down-sampling by `scale` (Pillow, antialiased), then the core's own bicubic enlargement
            (`genstudio.batch.restore.enlarge`): exactly what the network is given at use time.

Every random choice comes from one numpy generator seeded from torch's global generator, so the runtime's
checkpoint (which keeps that state) makes a resumed run draw the same degradations.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from genstudio.batch.restore import enlarge


def rng_from_torch() -> np.random.Generator:
    return np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))


def free_form_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """H x W float32, 1 in the holes: 1-3 strokes and 0-2 boxes, redrawn until 10-50% is covered."""
    for _ in range(20):
        image = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(image)
        side = min(height, width)
        for _ in range(int(rng.integers(1, 4))):  # strokes
            x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
            brush = max(2, int(rng.uniform(0.05, 0.15) * side))
            for _ in range(int(rng.integers(2, 7))):
                angle = float(rng.uniform(0, 2 * math.pi))
                length = float(rng.uniform(0.1, 0.4) * side)
                nx = min(max(x + length * math.cos(angle), 0), width - 1)
                ny = min(max(y + length * math.sin(angle), 0), height - 1)
                draw.line([(x, y), (nx, ny)], fill=255, width=brush)
                draw.ellipse([nx - brush / 2, ny - brush / 2, nx + brush / 2, ny + brush / 2], fill=255)
                x, y = nx, ny
        for _ in range(int(rng.integers(0, 3))):  # boxes
            bw, bh = (int(rng.uniform(0.15, 0.4) * side) for _ in range(2))
            left, top = int(rng.integers(0, max(1, width - bw))), int(rng.integers(0, max(1, height - bh)))
            draw.rectangle([left, top, left + bw, top + bh], fill=255)
        mask = (np.asarray(image) >= 128).astype(np.float32)
        if 0.1 <= mask.mean() <= 0.5:
            return mask
    return mask


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """3 x H x W float in [0, 1] through a JPEG of `quality` and back."""
    pixels = (np.clip(image, 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255


def shrink(images: np.ndarray, scale: int) -> np.ndarray:
    """N x C x H x W -> N x C x H/scale x W/scale: Pillow's antialiased bicubic in float (mode F)."""
    n, c, h, w = images.shape
    out = np.empty((n, c, h // scale, w // scale), np.float32)
    for i in range(n):
        for j in range(c):
            plane = Image.fromarray(np.ascontiguousarray(images[i, j], dtype=np.float32), mode="F")
            out[i, j] = np.asarray(plane.resize((w // scale, h // scale), Image.Resampling.BICUBIC))
    return out


def degrade(clean: np.ndarray, task: str, rng: np.random.Generator, *, scale: int, noise_max: float,
            jpeg_min: int) -> tuple[np.ndarray, np.ndarray]:
    """One clean 3 x H x W image -> (the damaged input 3 x H x W, the mask 1 x H x W: zeros but for inpaint)."""
    _, height, width = clean.shape
    mask = np.zeros((1, height, width), np.float32)
    if task == "inpaint":
        mask[0] = free_form_mask(height, width, rng)
        return clean * (1 - mask), mask
    if task == "upscale":
        return enlarge(shrink(clean[None], scale), scale)[0], mask
    damaged = clean
    use_jpeg, use_noise = (bool(rng.integers(0, 2)) for _ in range(2))
    if not (use_jpeg or use_noise) or jpeg_min >= 100:
        use_noise = True
    if use_jpeg and jpeg_min < 100:
        damaged = jpeg(damaged, int(rng.integers(jpeg_min, 100)))
    if use_noise:
        sigma = float(rng.uniform(0.01, max(0.01, noise_max)))
        damaged = damaged + rng.normal(0, sigma, damaged.shape).astype(np.float32)
    return np.clip(damaged, 0, 1).astype(np.float32), mask


def degrade_batch(clean: torch.Tensor, tasks: list[str], config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """N x 3 x H x W clean images and one task per image -> (damaged N x 3 x H x W, masks N x 1 x H x W), CPU."""
    rng = rng_from_torch()
    array = clean.detach().float().cpu().numpy()
    pairs = [degrade(image, task, rng, scale=int(config["scale"]), noise_max=float(config["noise_max"]),
                     jpeg_min=int(config["jpeg_min"])) for image, task in zip(array, tasks, strict=True)]
    return torch.from_numpy(np.stack([p[0] for p in pairs])), torch.from_numpy(np.stack([p[1] for p in pairs]))
