"""Tiny two-domain folders (A: dark shapes on light grey; B: the same kind of shapes, hue-shifted on dark) and a
tiny trained CycleGAN, shared by the module's tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

TINY = ["--set", "ngf=4", "--set", "ndf=4", "--set", "blocks=1", "--set", "d_layers=2", "--set", "crop=12",
        "--set", "pool_size=3"]
SIDE = 16


def shape_image(rng: np.random.Generator, domain: str, size: tuple[int, int] = (SIDE, SIDE)) -> Image.Image:
    """A random rectangle; A: dark on light, B: coloured on dark (a transformation the model is not told)."""
    height, width = size
    pixels = np.full((height, width, 3), 200 if domain == "A" else 30, dtype=np.uint8)
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    colour = (40, 40, 40) if domain == "A" else (230, 120, 20)
    pixels[top:top + height // 2, left:left + width // 2] = colour
    return Image.fromarray(pixels)


def make_domains(root, count: int = 4, seed: int = 0):
    """root/A and root/B with `count` different images each; returns root."""
    rng = np.random.default_rng(seed)
    for domain in ("A", "B"):
        (root / domain).mkdir(parents=True)
        for index in range(count):
            shape_image(rng, domain).save(root / domain / f"{index}.png")
    return root


@pytest.fixture(scope="session")
def domains(tmp_path_factory):
    return make_domains(tmp_path_factory.mktemp("domains"))


@pytest.fixture(scope="session")
def trained(tmp_path_factory, domains):
    """A CycleGAN trained 4 steps on the tiny folders through `genstudio train`, and exported to ONNX."""
    import torch
    from typer.testing import CliRunner

    from genstudio.cli import app
    from genstudio.export import export_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = tmp_path_factory.mktemp("model") / "cyclegan"
        result = CliRunner().invoke(app, ["train", "cyclegan", "--data", str(domains / "A"), "--data-b",
                                          str(domains / "B"), "--out", str(model), "--steps", "4", "-r", str(SIDE),
                                          "-b", "2", "--device", "cpu", *TINY])
        assert result.exit_code == 0, result.output
        export_model(model)
    finally:
        torch.set_num_threads(threads)
    return model


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """Training here runs with threads=1 (the operation's option sets the process's torch threads); put the
    count back so later tests in this process record the same device text as a fresh CLI process."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
