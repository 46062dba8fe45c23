"""Tiny DRAW models for the tests: 16 x 16 grey images, 4 drawing steps, LSTMs of 16 units, trained a few steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

TINY = {"resolution": 16, "channels": 1, "steps": 4, "z_size": 3, "enc_size": 16, "dec_size": 16, "read_n": 2,
        "write_n": 3, "validation_fraction": 0.0}
TINY_SETS = [part for key, value in TINY.items() if key != "channels" for part in ("--set", f"{key}={value}")]


def make_folder(root, count: int = 6):
    """`count` grey 16 x 16 PNGs per class a and b: a bright bar (a: rows, b: columns) at a different place in each."""
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            pixels = (rng.random((16, 16)) * 40).astype(np.uint8)
            start = 1 + 2 * index
            if label == "a":
                pixels[start:start + 3, 2:14] = 230
            else:
                pixels[2:14, start:start + 3] = 230
            Image.fromarray(pixels, "L").save(root / label / f"{label}{index}.png")
    return root


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("draw-data"))


def train_tiny(data, out, steps: int = 3, **more):
    """A tiny draw model trained `steps` steps in process (genstudio.operations.train, as the CLI does)."""
    from genstudio.operations.train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(backend="draw", data=data, out=out, steps=steps, batch_size=4, device="cpu", seed=0,
                     config={**{k: v for k, v in TINY.items() if k != "channels"}, **more}, sample_count=0)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(digits, tmp_path_factory):
    """A tiny draw model folder trained 3 steps."""
    folder = tmp_path_factory.mktemp("draw-model") / "m"
    train_tiny(digits, folder)
    return folder
