"""The latent walk (genstudio.walk) for any generator: the path, the command line, the job runner, reproduce."""

from __future__ import annotations

import hashlib
import json

import genstudio_gan
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio import walk
from genstudio.errors import UserError
from genstudio.models import save_model
from genstudio.plugins import discover
from genstudio.provenance import read_provenance, without_time

TINY = {"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return discover(entry_points=False, plugin_dir=tmp_path_factory.mktemp("plugins"), disabled=set(),
                    extra=[("gan", genstudio_gan)])


@pytest.fixture(autouse=True)
def _registry_for_loading(registry, monkeypatch, single_torch_thread):
    monkeypatch.setattr("genstudio.plugins.get_registry", lambda refresh=False: registry)


def make_model(registry, folder, backend="dcgan", **settings):
    """An untrained model folder: a walk does not care whether G is any good."""
    spec = registry.backend(backend)
    config = spec.schema.resolve({**TINY, **settings})
    torch.manual_seed(0)
    extra = {"class_names": [f"c{i}" for i in range(config["num_classes"])]} if backend == "cgan" else {}
    save_model(folder, spec, config, spec.load().build(config).state_dict(), extra=extra)
    return folder


@pytest.fixture
def model(registry, tmp_path):
    return make_model(registry, tmp_path / "m")


def invoke(*args: str) -> str:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: str) -> str:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert isinstance(result.exception, UserError), result.output
    message = str(result.exception)
    assert message and "\n" not in message
    return message


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("L")).astype(int))
        return frames


def png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image).astype(int)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the path ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seeds, frames", [(2, 2), (3, 24), (4, 7), (5, 100)])
def test_an_open_walk_starts_and_ends_at_the_seeds_and_moves_forward(seeds, frames):
    found = walk.positions(seeds, frames, loop=False)
    assert found[0] == (0, 0.0) and found[-1] == (seeds - 2, 1.0)
    progress = [segment + t for segment, t in found]
    steps = np.diff(progress)
    assert np.allclose(steps, (seeds - 1) / (frames - 1))  # even speed along the path
    assert all(0.0 <= t <= 1.0 for _, t in found)


@pytest.mark.parametrize("seeds, frames", [(2, 2), (3, 24), (4, 9)])
def test_a_looping_walk_never_repeats_its_first_frame(seeds, frames):
    found = walk.positions(seeds, frames, loop=True)
    progress = [segment + t for segment, t in found]
    assert found[0] == (0, 0.0) and progress[-1] < seeds
    assert np.allclose(np.diff([*progress, seeds]), seeds / frames)  # the step back to the start is one more


def test_frames_at_seeds_are_the_generated_images_and_the_path_is_smooth(model, tmp_path):
    """Frames 0, 4 and 8 of a 9-frame walk through seeds 1, 7, 3 are image 0 of those seeds, exactly the images
    `genstudio generate` writes; in between, neighbouring frames differ less than the seeds' images do."""
    invoke("walk", str(model), "--seeds", "1,7,3", "--frames", "9", "--out", str(tmp_path / "w"), "--device",
           "cpu")
    frames = [png(tmp_path / "w" / f"frame-{i:05d}.png") for i in range(9)]
    for frame, seed in ((0, 1), (4, 7), (8, 3)):
        invoke("generate", str(model), "--count", "1", "--seed", str(seed), "--out", str(tmp_path / "g"),
               "--device", "cpu")
        assert np.array_equal(frames[frame], png(tmp_path / "g" / f"seed{seed}-00000.png"))
    far = np.abs(frames[0] - frames[4]).mean()
    near = max(np.abs(frames[i] - frames[i + 1]).mean() for i in range(8))
    assert 0 < near < far


# -- the command line and the job runner ---------------------------------------------------------------------


def test_the_same_command_gives_identical_bytes_and_leaves_an_up_to_date_walk_alone(model, tmp_path):
    args = ["--seeds", "1,7,3", "--frames", "12", "--loop", "--fps", "10", "--device", "cpu"]
    invoke("walk", str(model), *args, "--out", str(tmp_path / "a.gif"))
    invoke("walk", str(model), *args, "--out", str(tmp_path / "b.gif"))
    assert digest(tmp_path / "a.gif") == digest(tmp_path / "b.gif")
    frames = gif_frames(tmp_path / "a.gif")
    assert len(frames) == 12 and frames[0].shape == (32, 32)
    with Image.open(tmp_path / "a.gif") as image:
        assert image.info["loop"] == 0 and image.info["duration"] == 100
    sidecar = json.loads((tmp_path / "a.gif.json").read_text())
    assert sidecar["operation"] == "latent-walk" and sidecar["parameters"]["seeds"] == [1, 7, 3]
    assert sidecar["parameters"]["loop"] is True and sidecar["model_sha256"]

    before = (tmp_path / "a.gif").stat().st_mtime_ns, (tmp_path / "a.gif.json").read_bytes()
    output = invoke("walk", str(model), *args, "--out", str(tmp_path / "a.gif"), "--json")
    assert json.loads(output[output.index("{"):])["written"] is False
    assert ((tmp_path / "a.gif").stat().st_mtime_ns, (tmp_path / "a.gif.json").read_bytes()) == before
    invoke("walk", str(model), *args, "--fps", "5", "--out", str(tmp_path / "a.gif"))  # a new request: rewritten
    with Image.open(tmp_path / "a.gif") as image:
        assert image.info["duration"] == 200


def test_webp_and_the_job_runner_give_the_command_lines_animation(model, tmp_path):
    from genstudio.jobs.builtin import run_walk
    from genstudio.operations.registry import BUILTIN

    invoke("walk", str(model), "--seeds", "4, 2", "--frames", "6", "--truncation", "0.5", "--device", "cpu",
           "--out", str(tmp_path / "cli.webp"))
    (operation,) = [op for op in BUILTIN if op.kind == "walk"]
    params = operation.prepare({"model": str(model), "seeds": [4, 2], "frames": 6, "truncation": 0.5,
                                "device": "cpu", "out": str(tmp_path / "job.webp")})
    result = run_walk(params, lambda event: None, lambda: False)
    assert result["written"] and result["format"] == "webp" and result["seeds"] == [4, 2]
    assert digest(tmp_path / "cli.webp") == digest(tmp_path / "job.webp")
    cli_record = json.loads((tmp_path / "cli.webp.json").read_text())
    job_record = json.loads((tmp_path / "job.webp.json").read_text())
    assert without_time(cli_record) == without_time(job_record)
    with pytest.raises(UserError, match="does not take"):
        run_walk({**params, "count": 3}, lambda event: None, lambda: False)


def test_batch_size_does_not_change_the_frames(model, tmp_path):
    for batch in ("1", "5"):
        invoke("walk", str(model), "--seeds", "0,9", "--frames", "7", "--batch-size", batch, "--device", "cpu",
               "--out", str(tmp_path / f"b{batch}.gif"))
    assert digest(tmp_path / "b1.gif") == digest(tmp_path / "b5.gif")


def test_every_frame_of_a_frame_folder_reproduces(model, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # identical frame files too, record time included
    args = ["--seeds", "3,5", "--frames", "5", "--truncation", "0.8", "--device", "cpu"]
    invoke("walk", str(model), *args, "--out", str(tmp_path / "w1"))
    invoke("walk", str(model), *args, "--out", str(tmp_path / "w2"))
    names = sorted(path.name for path in (tmp_path / "w1").iterdir())
    assert names == sorted([*(f"frame-{i:05d}.png" for i in range(5)), "animation.json"])
    assert all(digest(tmp_path / "w1" / name) == digest(tmp_path / "w2" / name) for name in names)
    for frame in (0, 2, 4):
        path = tmp_path / "w1" / f"frame-{frame:05d}.png"
        record = read_provenance(path)
        assert record["frame"] == frame and record["parameters"]["truncation"] == 0.8
        output = invoke("reproduce", str(path), "--out", str(tmp_path / f"again{frame}.png"))
        assert "identical" in output.lower(), output
        assert np.array_equal(png(path), png(tmp_path / f"again{frame}.png"))


def test_a_conditional_walk_draws_one_class(registry, tmp_path):
    model = make_model(registry, tmp_path / "c", backend="cgan", num_classes=3)
    invoke("walk", str(model), "--seeds", "1,2", "--frames", "3", "--label", "c2", "--device", "cpu", "--out",
           str(tmp_path / "w"))
    record = read_provenance(tmp_path / "w" / "frame-00002.png")
    assert record["parameters"]["label"] == 2 and record["parameters"]["label_name"] == "c2"
    invoke("generate", str(model), "--count", "1", "--seed", "2", "--label", "c2", "--out", str(tmp_path / "g"),
           "--device", "cpu")
    assert np.array_equal(png(tmp_path / "w" / "frame-00002.png"), png(tmp_path / "g" / "seed2-00000-c2.png"))


@pytest.mark.parametrize("args, expected", [
    (["--seeds", "4"], "at least 2 seeds"),
    (["--seeds", "1,x"], "whole numbers"),
    (["--seeds", "1,2", "--label", "0"], "not conditional"),
    (["--seeds", "1,2", "--mix-with", "3", "--mix-from", "1"], "not style-based"),
    (["--seeds", "1,2", "--mix-with", "3"], "both --mix-with"),
    (["--seeds", "1,2", "--truncation-cutoff", "2"], "not style-based"),
    (["--seeds", "1,2", "--format", "avi"], "unknown animation format"),
])
def test_bad_requests_are_one_line(model, tmp_path, args, expected):
    message = refused("walk", str(model), *args, "--out", str(tmp_path / "w.gif"), "--device", "cpu")
    assert expected in message
    assert not (tmp_path / "w.gif").exists()


def test_an_out_path_through_a_file_is_one_line(model, tmp_path):
    (tmp_path / "file").write_text("x")
    message = refused("walk", str(model), "--seeds", "1,2", "--out", str(tmp_path / "file" / "w.gif"))
    assert "file" in message
