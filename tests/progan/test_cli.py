"""A tiny progan run through the command line: train (across every stage), generate, export to ONNX, generate
with onnxruntime, interpolate, and `genstudio reproduce` gives identical pixels for each output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genstudio.provenance import read_provenance


def invoke(*args: str) -> str:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def digits_like(tmp_path):
    """24 grey 16 x 16 PNGs of bars at varied places (a folder as users have them)."""
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        image = np.zeros((16, 16), np.uint8)
        row, col = rng.integers(2, 12, size=2)
        image[row:row + 3, :] = 255 if i % 2 else 0
        image[:, col:col + 3] = 200
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    return folder


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def test_train_generate_export_onnx_and_reproduce(digits_like, tmp_path):
    model = tmp_path / "model"
    out = invoke("train", "progan", "--data", str(digits_like), "--out", str(model), "--resolution", "16",
                 "--steps", "9", "--batch-size", "8", "--device", "cpu", "--json",
                 "--set", "ngf=8", "--set", "ndf=8", "--set", "latent_dim=8", "--set", "stage_images=24")
    summary = json.loads(out[out.index("{"):])
    assert summary["steps"] == 9 and summary["final_losses"]["stage"] == 2  # 3 steps per stage: 4, 8, 16 px
    card = json.loads((model / "model.json").read_text())
    assert card["backend"] == "progan" and card["config"]["channels"] == 1  # derived from the greyscale folder

    invoke("generate", str(model), "--count", "3", "--seed", "4", "--out", str(tmp_path / "torch"), "--device", "cpu")
    invoke("export", str(model))
    assert (model / "model.onnx").exists()
    invoke("generate", str(model), "--count", "3", "--seed", "4", "--out", str(tmp_path / "onnx"),
           "--runtime", "onnx")
    made = sorted((tmp_path / "torch").glob("*.png"))
    assert len(made) == 3 and pixels(made[0]).shape == (16, 16)
    for torch_file in made:
        onnx_file = tmp_path / "onnx" / torch_file.name
        assert np.abs(pixels(torch_file).astype(int) - pixels(onnx_file).astype(int)).max() <= 1
        assert read_provenance(onnx_file)["runtime"] == "onnx"
    assert not np.array_equal(pixels(made[0]), pixels(made[1]))  # different latents, different images
    from genstudio.generate_folder import open_sampler
    from genstudio.provenance import to_uint8, write_png

    frames = list(open_sampler(model, device="cpu", runtime="torch").interpolation(4, 9, 4))  # seed 4 -> seed 9
    assert np.array_equal(to_uint8(frames[0][1])[:, :, 0], pixels(made[0]))  # starts at image 0 of seed 4
    write_png(tmp_path / "between.png", frames[2][1], frames[2][2])
    for image in (made[1], tmp_path / "onnx" / made[1].name, tmp_path / "between.png"):
        again = tmp_path / f"again-{image.parent.name}.png"
        invoke("reproduce", str(image), "--out", str(again))
        assert np.array_equal(pixels(again), pixels(image))
