"""Tiny photo-like folders and a tiny restorer trained on them (4 steps through `genstudio train`, exported to
ONNX), shared by the module's tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

SIDE = 24
TINY = ["--set", "size=lite", "--set", "width=4", "--set", "d_layers=1", "--set", "ndf=4", "--set", "adv_warmup=2",
        "--set", "perceptual=off", "--set", "lr=0.02"]


def scene(rng: np.random.Generator, size: tuple[int, int] = (SIDE, SIDE)) -> Image.Image:
    """A gradient with a random rectangle: structure to restore."""
    height, width = size
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 / max(1, width - 1), y * 255 / max(1, height - 1),
                       np.full((height, width), rng.integers(0, 256))], axis=-1)
    top, left = rng.integers(0, max(1, height // 2)), rng.integers(0, max(1, width // 2))
    pixels[top:top + height // 3, left:left + width // 3] = rng.integers(0, 256, 3)
    return Image.fromarray(pixels.astype(np.uint8))


def make_folder(root, count: int = 6, seed: int = 0, size=(SIDE, SIDE)):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        scene(rng, size).save(root / f"{index}.png")
    return root


def box_mask(path, size=(SIDE, SIDE), box=(6, 6, 14, 16), value=255):
    """A black mask, `value` in the box (top, left, bottom, right)."""
    pixels = np.zeros(size, np.uint8)
    top, left, bottom, right = box
    pixels[top:bottom, left:right] = value
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("scenes") / "train")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, images):
    import torch
    from typer.testing import CliRunner

    from genstudio.cli import app
    from genstudio.export import export_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = tmp_path_factory.mktemp("model") / "restore"
        result = CliRunner().invoke(app, ["train", "restore", "--data", str(images), "--out", str(model), "--steps",
                                          "4", "-r", str(SIDE), "-b", "3", "--device", "cpu", *TINY])
        assert result.exit_code == 0, result.output
        export_model(model)
    finally:
        torch.set_num_threads(threads)
    return model
