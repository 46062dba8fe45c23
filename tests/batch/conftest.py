"""A toy processor and a folder tree with good images and a zoo of bad files, all generated."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.batch.pipeline import Processor


def invert_processor(calls: list | None = None, max_batch: int = 4) -> Processor:
    def run(batch: torch.Tensor) -> torch.Tensor:
        if calls is not None:
            calls.append(tuple(batch.shape))
        return 1 - batch

    def record(item, digest):
        return {"operation": "stylize", "backend": "invert", "input_sha256": digest, "parameters": {}}

    return Processor("Inverting", run, record, max_batch=max_batch)


def gradient(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def tree(tmp_path):
    """input/ with nested good images and bad ones; returns (root, good relative paths, bad names)."""
    root = tmp_path / "input"
    (root / "sub" / "deeper").mkdir(parents=True)
    gradient(40, 30, 1).save(root / "a.png")
    gradient(40, 30, 2).save(root / "b.jpg", quality=95)
    gradient(32, 32, 3).save(root / "sub" / "c.png")
    gradient(20, 50, 4).convert("CMYK").save(root / "sub" / "cmyk.jpg")
    Image.fromarray(np.arange(24 * 24, dtype=np.uint16).reshape(24, 24) * 100).save(root / "sub" / "sixteen.png")
    gradient(16, 16, 5).convert("P").save(root / "sub" / "deeper" / "palette.png")
    rgba = gradient(16, 16, 6).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(root / "sub" / "deeper" / "alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: stored 40 x 20, shown 20 x 40
    gradient(40, 20, 7).save(root / "rotated.jpg", exif=exif)
    good = ["a.png", "b.png", "sub/c.png", "sub/cmyk.png", "sub/sixteen.png", "sub/deeper/palette.png",
            "sub/deeper/alpha.png", "rotated.png"]
    # the zoo
    buffer = io.BytesIO()
    gradient(64, 64, 8).save(buffer, "PNG")
    (root / "truncated.png").write_bytes(buffer.getvalue()[:200])
    (root / "empty.png").write_bytes(b"")
    (root / "text.jpg").write_text("not an image at all")
    (root / "notes.txt").write_text("hello")
    (root / "vector.svg").write_text("<svg/>")
    bad = ["truncated.png", "empty.png", "text.jpg", "notes.txt", "vector.svg"]
    return root, good, bad
