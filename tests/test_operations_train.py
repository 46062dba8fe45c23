"""The train operation (genstudio.operations.train) behind `genstudio train` and train jobs: settings derived from
the data, path options mapped into the config, and one-line errors. Each test is a bug that once shipped:
  * a cgan job without num_classes trained for 10 classes on a 3-class folder (only the CLI derived it);
  * a greyscale folder trained a 3-channel dcgan unless the user said channels=1;
  * a fast-style job's `style` parameter never reached config style_image, and model.json lost its sha256;
  * an unknown --set field in a job failed with a CLI-only hint instead of naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genstudio.errors import UserError
from genstudio.fileio import sha256_file
from genstudio.jobs.builtin import run_train

TINY_GAN = ["ngf=4", "ndf=4", "latent_dim=8"]


@pytest.fixture(autouse=True)
def one_thread(single_torch_thread):
    """Tiny networks: one torch thread each."""


def noise_image(side: int, mode: str, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "L":
        return Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8), "L")
    return Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8), "RGB")


def image_folder(root: Path, *, classes: tuple[str, ...] = (), count: int = 6, mode: str = "RGB") -> Path:
    """`count` 32 x 32 noise PNGs in `root` (or in each class subfolder of it); returns `root`."""
    folders = [root / name for name in classes] or [root]
    for number, folder in enumerate(folders):
        folder.mkdir(parents=True)
        for index in range(count):
            noise_image(32, mode, 100 * number + index).save(folder / f"{index}.png")
    return root


def job(backend: str, data: Path, out: Path, **params) -> dict:
    """Run a train job's runner in this process (what the worker's child does); returns its result."""
    base = {"backend": backend, "data": str(data), "out": str(out), "steps": 2, "resolution": 32, "batch_size": 4,
            "device": "cpu", "sample_count": 0}
    return run_train({**base, **params}, None, lambda: False)


def card(out: Path) -> dict:
    return json.loads((out / "model.json").read_text())


def test_cgan_job_and_cli_take_the_class_count_from_the_folders(tmp_path):
    data = image_folder(tmp_path / "data", classes=("cats", "dogs", "owls"))
    result = job("cgan", data, tmp_path / "job", set=TINY_GAN)
    assert result["steps"] == 2 and not result["cancelled"]
    from_job = card(tmp_path / "job")
    assert from_job["config"]["num_classes"] == 3  # not the schema's default of 10
    assert from_job["extra"]["class_names"] == ["cats", "dogs", "owls"]

    from genstudio.cli import app

    args = ["train", "cgan", "--data", str(data), "--out", str(tmp_path / "cli"), "--steps", "2", "--resolution",
            "32", "--batch-size", "4", "--device", "cpu", "--json"]
    for assignment in TINY_GAN:
        args += ["--set", assignment]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, (done.output, done.exception)
    from_cli = card(tmp_path / "cli")
    assert from_cli["config"] == from_job["config"]  # one operation behind both: the same settings


def test_channels_follow_the_images_unless_the_user_sets_them(tmp_path):
    grey = image_folder(tmp_path / "grey", mode="L")
    rgb = image_folder(tmp_path / "rgb", mode="RGB")
    job("dcgan", grey, tmp_path / "grey-model", set=TINY_GAN)
    job("dcgan", rgb, tmp_path / "rgb-model", set=TINY_GAN)
    job("dcgan", grey, tmp_path / "grey-as-rgb", set=[*TINY_GAN, "channels=3"])
    assert card(tmp_path / "grey-model")["config"]["channels"] == 1
    assert card(tmp_path / "rgb-model")["config"]["channels"] == 3
    assert card(tmp_path / "grey-as-rgb")["config"]["channels"] == 3  # the user's word wins over the data


def test_fast_style_job_maps_style_into_the_config_and_records_its_hash(tmp_path):
    data = image_folder(tmp_path / "content", count=4)
    style = tmp_path / "style.png"
    noise_image(24, "RGB", 7).save(style)
    shallow = ["features=random", "size=lite", "content_layers=relu2_2", "style_layers=relu1_2,relu2_2",
               "style_size=32"]
    result = job("fast-style", data, tmp_path / "model", style=str(style), batch_size=2, set=shallow)
    assert result["steps"] == 2
    model = card(tmp_path / "model")
    assert Path(model["config"]["style_image"]) == style.resolve()
    assert model["extra"]["style_image"] == {"name": "style.png", "sha256": sha256_file(style)}


def test_unknown_setting_in_a_job_is_one_line_naming_the_field(tmp_path):
    data = image_folder(tmp_path / "data", count=2)
    with pytest.raises(UserError) as caught:
        job("dcgan", data, tmp_path / "model", set=["ngf=4", "bogus_field=1"])
    message = str(caught.value)
    assert "bogus_field" in message
    assert "\n" not in message and "--" not in message  # one line, and no CLI option a job cannot take
    assert not (tmp_path / "model").exists()  # refused before anything was written


def test_a_thread_count_for_training_is_given_back_to_an_in_process_caller(tmp_path):
    """The demo trains on one thread; in the app's process or a test, the caller's thread count comes back (a
    leaked count once changed the device text later operations recorded in provenance)."""
    import torch

    from genstudio.operations.train import train

    torch.set_num_threads(2)
    data = image_folder(tmp_path / "data")
    summary = train(backend="dcgan", data=data, out=tmp_path / "m", steps=1, resolution=32, batch_size=2,
                    device="cpu", assignments=TINY_GAN, threads=1, sample_count=0)
    assert summary.steps == 1 and torch.get_num_threads() == 2
