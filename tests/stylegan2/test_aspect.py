"""Non-square stylegan2 (`aspect`, `aspect_fit`): the output size, what D sees of real and generated images, and a
2:1 model trained, generated, exported and walked from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio.data import aspect_size

TINY = ["--set", "latent_dim=4", "--set", "w_dim=4", "--set", "mapping_layers=2", "--set", "channel_base=64",
        "--set", "channel_max=4"]


def invoke(*args: str) -> str:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size  # width, height


@pytest.mark.parametrize("resolution, aspect, expected", [
    (32, "1:1", (32, 32)), (32, "16:9", (18, 32)), (32, "9:16", (32, 18)), (64, "4:3", (48, 64)),
    (64, "3:4", (64, 48)), (32, "3:2", (21, 32)), (16, "2:1", (8, 16)), (256, "1:2", (256, 128)),
])
def test_the_longer_side_is_the_resolution(resolution, aspect, expected):
    assert aspect_size(resolution, aspect) == expected


def task_for(aspect: str, fit: str = "crop"):
    from genstudio_stylegan2.train import StyleGAN2Task
    from stylegan2_tiny import CONFIG, stylegan2_spec  # on the path through conftest

    spec = stylegan2_spec()
    config = spec.schema.resolve({**CONFIG, "aspect": aspect, "aspect_fit": fit, "augment": "off"})
    torch.manual_seed(0)
    backend = spec.load()
    return StyleGAN2Task(backend.build(config), backend.build_discriminator(config), config, 16)


def test_d_never_sees_the_pixels_outside_the_window():
    """A 2:1 model at 8 px draws 4 x 8; its generated images reach D with rows 0-1 and 6-7 blank, so D's loss has
    no gradient there; the generator's own output is the window."""
    task = task_for("2:1")
    g = task.generator
    assert (g.height, g.width) == (4, 8)
    ws = g.map(torch.randn(4, g.latent_dim))
    square = g.synthesis(ws, "random").detach().requires_grad_(True)
    boxed = task._letterbox(square)
    assert torch.equal(boxed[:, :, 2:6], square[:, :, 2:6]) and not boxed[:, :, :2].any() and not boxed[:, :, 6:].any()
    task.discriminator(boxed).sum().backward()
    assert not square.grad[:, :, :2].any() and not square.grad[:, :, 6:].any()
    assert square.grad[:, :, 2:6].abs().sum() > 0
    assert g.generate(torch.randn(3, g.latent_dim)).shape == (3, 1, 4, 8)
    assert task_for("1:1").window is None  # a square model trains exactly as before


def test_real_images_arrive_in_the_window_and_are_only_letterboxed():
    real = torch.rand(2, 1, 8, 8) * 2 - 1
    for fit in ("crop", "pad"):  # the dataset fitted them (Capabilities.aspect): D's view only blanks the rest
        boxed = task_for("2:1", fit)._fit_real(real)
        assert torch.equal(boxed[:, :, 2:6], real[:, :, 2:6])
        assert not boxed[:, :, :2].any() and not boxed[:, :, 6:].any()


def wide_picture(path) -> None:
    """A 2:1 picture: a red left quarter, a blue right quarter, grey between (a centred square would lose both)."""
    image = np.full((16, 32, 3), 128, np.uint8)
    image[:, :8] = (255, 0, 0)
    image[:, 24:] = (0, 0, 255)
    Image.fromarray(image).save(path)


@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_training_reads_the_picture_at_the_model_s_aspect(tmp_path, fit):
    """The train operation reads a 2:1 model's images into its 8 x 16 window of the 16 px square: the whole wide
    picture (both coloured ends), not the centred square the dataset reads for square models."""
    from genstudio.operations.train import prepare_training

    (tmp_path / "data").mkdir()
    wide_picture(tmp_path / "data" / "wide.png")
    prepared = prepare_training(backend="stylegan2", data=tmp_path / "data", resolution=16,
                                config={"aspect": "2:1", "aspect_fit": fit, "channels": 3})
    image = prepared.dataset[0][0]  # 3 x 16 x 16 in [0, 1]
    window = image[:, 4:12]
    assert window[0, :, 1].min() > 0.9 and window[2, :, 1].max() < 0.1  # the red end, at the window's left
    assert window[2, :, 14].min() > 0.9 and window[0, :, 14].max() < 0.1  # the blue end, at its right
    assert torch.equal(image[:, :4], torch.ones(3, 4, 16)) and torch.equal(image[:, 12:], torch.ones(3, 4, 16))
    square = prepare_training(backend="stylegan2", data=tmp_path / "data", resolution=16,
                              config={"aspect": "1:1", "channels": 3}).dataset[0][0]
    assert square[0, 8, 1] < 0.9  # a square model reads the centred square: no red end at its left


def test_a_wide_model_trains_generates_exports_and_walks(tmp_path, single_torch_thread):
    rng = np.random.default_rng(0)
    (tmp_path / "data").mkdir()
    for i in range(8):
        image = np.zeros((16, 16, 3), np.uint8)
        image[:, rng.integers(0, 12):, 0] = 220
        Image.fromarray(image).save(tmp_path / "data" / f"{i}.png")
    out = invoke("train", "stylegan2", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m"),
                 "--resolution", "16", "--steps", "3", "--batch-size", "4", "--device", "cpu", "--json", *TINY,
                 "--set", "aspect=2:1", "--set", "aspect_fit=pad")
    assert json.loads(out[out.index("{"):])["steps"] == 3
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert (card["config"]["aspect"], card["config"]["aspect_fit"]) == ("2:1", "pad")
    invoke("generate", str(tmp_path / "m"), "--count", "2", "--out", str(tmp_path / "g"), "--device", "cpu",
           "--runtime", "torch", "--truncation", "0.7", "--grid")
    assert size(tmp_path / "g" / "seed0-00001-psi0.7.png") == (16, 8)
    invoke("export", str(tmp_path / "m"))
    invoke("generate", str(tmp_path / "m"), "--count", "2", "--out", str(tmp_path / "o"), "--device", "cpu",
           "--runtime", "onnx", "--truncation", "0.7")
    with Image.open(tmp_path / "g" / "seed0-00001-psi0.7.png") as a, Image.open(tmp_path / "o" /
                                                                                 "seed0-00001-psi0.7.png") as b:
        assert a.size == b.size and np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int)).max() <= 1
    invoke("walk", str(tmp_path / "m"), "--seeds", "1,2", "--frames", "3", "--out", str(tmp_path / "w.gif"),
           "--device", "cpu")
    assert size(tmp_path / "w.gif") == (16, 8)


def test_an_unknown_aspect_is_one_line(tmp_path):
    from genstudio.cli import app
    from genstudio.errors import UserError

    result = CliRunner().invoke(app, ["train", "stylegan2", "--data", str(tmp_path), "--out", str(tmp_path / "m"),
                                      "--set", "aspect=5:4"])
    assert isinstance(result.exception, UserError) and "aspect" in str(result.exception)
