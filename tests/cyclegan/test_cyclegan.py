"""CycleGAN end to end on tiny folders: train from two folders or one with A/ and B/, resume exactly, export both
directions to ONNX, translate folders either way on torch and onnx with the same provenance handling, and the
same result from the CLI, a job and the app's code path."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio.errors import UserError
from genstudio.provenance import read_provenance
from tests.toys import train_killed_at

from .conftest import SIDE, TINY, make_domains, shape_image

INCIDENTAL = ("time", "runtime", "device")  # what may differ between the torch and onnx runtimes


def invoke(*args, code=0):
    from genstudio.cli import app

    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == code, result.output
    return result


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def tiny_config():
    return {part.split("=")[0]: int(part.split("=")[1]) for part in TINY[1::2]}


@pytest.fixture
def photos(tmp_path):
    """Three inputs of odd sizes (not multiples of 4) and one corrupt file."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(5)
    shape_image(rng, "A", (13, 22)).save(folder / "one.png")
    shape_image(rng, "A", (16, 16)).save(folder / "sub" / "two.png")
    shape_image(rng, "B", (9, 7)).save(folder / "three.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return folder


def test_model_folder_holds_both_generators_and_a_checked_export(trained):
    card = json.loads((trained / "model.json").read_text())
    assert card["backend"] == "cyclegan" and card["config"]["data_b"].endswith("B")
    onnx = card["extra"]["onnx"]
    assert onnx["parity_passed"] and onnx["graphs"]["model"]["inputs"] == ["content", "direction"]
    from genstudio.models import load_model

    module = load_model(trained, device="cpu").module
    assert not torch.equal(module.g_ab.model[1].weight, module.g_ba.model[1].weight)
    assert (trained / "samples.png").is_file()


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_translate_a_folder_on_torch_and_onnx(trained, photos, tmp_path, direction, single_torch_thread):
    outs = {}
    for runtime in ("torch", "onnx"):
        out = tmp_path / runtime
        result = invoke("translate", trained, photos, "--out", out, "--direction", direction, "--runtime", runtime,
                        "--recursive", "--device", "cpu", code=1)  # 1: some inputs failed
        assert "broken.png" in result.output  # the bad file is reported and costs only itself
        outs[runtime] = out
    for name in ("one.png", "sub/two.png", "three.png"):
        made, onnx = outs["torch"] / name, outs["onnx"] / name
        assert pixels(made).shape == pixels(photos / name).shape  # any size in, the same size out
        assert np.abs(pixels(made) - pixels(onnx)).max() <= 1
        records = [read_provenance(made), read_provenance(onnx)]
        assert records[0]["runtime"] == "torch" and records[1]["runtime"] == "onnx"
        assert records[0]["operation"] == "translate" and records[0]["parameters"]["direction"] == direction
        assert ({k: v for k, v in records[0].items() if k not in INCIDENTAL}
                == {k: v for k, v in records[1].items() if k not in INCIDENTAL})
    assert not (outs["torch"] / "broken.png").exists()


def test_the_two_directions_differ_and_reproduce(trained, photos, tmp_path, single_torch_thread):
    from genstudio.reproduce import reproduce

    for direction in ("a2b", "b2a"):
        invoke("translate", trained, photos / "one.png", "--out", tmp_path / direction, "--direction", direction,
               "--device", "cpu")
    assert not np.array_equal(pixels(tmp_path / "a2b" / "one.png"), pixels(tmp_path / "b2a" / "one.png"))
    again = reproduce(tmp_path / "b2a" / "one.png", tmp_path / "again.png")
    assert again.identical and again.operation == "translate"


def test_cli_job_and_app_agree(trained, photos, tmp_path, single_torch_thread):
    from genstudio.gui.sampling import Source, stylize
    from genstudio.jobs.builtin import run_stylize_folder

    source = photos / "one.png"
    invoke("translate", trained, source, "--out", tmp_path / "cli", "--direction", "b2a", "--device", "cpu")
    job = run_stylize_folder({"model": str(trained), "inputs": [str(source)], "out": str(tmp_path / "job"),
                              "direction": "b2a", "device": "cpu"}, lambda event: None, lambda: False)
    assert job["written"] == 1
    made = stylize(Source("cyclegan", trained), source, direction="b2a")
    cli, queued = tmp_path / "cli" / "one.png", tmp_path / "job" / "one.png"
    assert np.array_equal(pixels(cli), pixels(queued)) and np.array_equal(pixels(cli), made.pixels)
    records = [{k: v for k, v in record.items() if k != "time"}
               for record in (read_provenance(cli), read_provenance(queued), made.record)]
    assert records[0] == records[1] == records[2]


def train_once(data, out, steps, data_b=None, resume=False, **options):
    from genstudio.operations.train import train

    return train(backend="cyclegan", data=data, data_b=data_b, out=out, steps=steps, resolution=SIDE,
                 batch_size=2, device="cpu", assignments=TINY[1::2], resume=resume, checkpoint_every=2,
                 sample_count=4, deterministic=True, threads=1, **options)


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "weights.safetensors"))


def losses(out):
    return [(r["step"], r["loss_g"], r["cycle"], r["identity"], r["loss_d"])
            for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]


def assert_same_run(out, straight):
    assert losses(out) == losses(straight)  # every step once, the same numbers
    ours, theirs = weights(out), weights(straight)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """6 steps without a stop (checkpoints at 2, 4, 6), from one folder with A/ and B/."""
    domains = make_domains(tmp_path_factory.mktemp("straight-domains"))
    out = tmp_path_factory.mktemp("straight") / "run"
    threads = torch.get_num_threads()
    try:
        train_once(domains, out, 6, log_every=1)
    finally:
        torch.set_num_threads(threads)
    return domains, out


def test_resume_repeats_the_uninterrupted_run(straight, tmp_path):
    from genstudio.training.checkpoints import list_checkpoints

    domains, straight_out = straight
    stop = {"now": False}

    def progress(event):  # cancel after step 2 of 6: the run writes a checkpoint and returns
        if event.task.startswith("Training") and event.done >= 2:
            stop["now"] = True

    first = train_once(domains, tmp_path / "resumed", 6, progress=progress, abort=lambda: stop["now"],
                       log_every=1)
    assert first.cancelled and 2 <= first.steps < 6
    assert list_checkpoints(tmp_path / "resumed")
    second = train_once(domains, tmp_path / "resumed", 6, resume=True, log_every=1)
    assert second.resumed_from == first.steps and second.steps == 6
    assert_same_run(tmp_path / "resumed", straight_out)


def test_sigkill_mid_run_then_resume_finishes_like_the_straight_run(straight, tmp_path):
    """A training process killed outright (SIGKILL: nothing written on the way out) at step 5 of 6; the resumed
    run goes on from the step-4 checkpoint (history buffers and RNG with it) and ends as the straight run did."""
    from genstudio.training.checkpoints import list_checkpoints

    domains, straight_out = straight
    out = tmp_path / "run"
    # the step-4 checkpoint is on disk, step 5 is not
    killed = train_killed_at(5, "from genstudio.operations.train import train\n", f"""
train(backend="cyclegan", data={str(domains)!r}, out={str(out)!r}, steps=6, resolution={SIDE}, batch_size=2,
      device="cpu", assignments={TINY[1::2]!r}, checkpoint_every=2, sample_count=4, deterministic=True,
      threads=1, log_every=1, progress=kill)
""")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "model.json").exists()
    assert [step for step, _ in list_checkpoints(out)][-1] == 4
    summary = train_once(domains, out, 6, resume=True, log_every=1)
    assert (summary.steps, summary.resumed_from) == (6, 4)
    assert_same_run(out, straight_out)


def test_job_runner_trains_like_the_operation(domains, tmp_path):
    from genstudio.jobs.builtin import run_train

    train_once(domains / "A", tmp_path / "direct", 2, data_b=domains / "B")
    run_train({"backend": "cyclegan", "data": str(domains / "A"), "data_b": str(domains / "B"),
               "out": str(tmp_path / "job"), "steps": 2, "resolution": SIDE, "batch_size": 2, "device": "cpu",
               "set": TINY[1::2], "checkpoint_every": 2, "sample_count": 4, "deterministic": True, "threads": 1},
              lambda event: None, lambda: False)
    direct, queued = weights(tmp_path / "direct"), weights(tmp_path / "job")
    assert all(torch.equal(direct[name], queued[name]) for name in direct)


def test_two_domain_requests_are_checked(tmp_path, domains):
    from genstudio.operations.train import prepare_training

    flat = tmp_path / "flat"
    flat.mkdir()
    shape_image(np.random.default_rng(0), "A").save(flat / "x.png")
    with pytest.raises(UserError, match="no subfolders A/ and B/"):
        prepare_training(backend="cyclegan", data=flat)
    with pytest.raises(UserError, match="takes no --data-b"):
        prepare_training(backend="dcgan", data=domains / "A", data_b=domains / "B")
    make_domains(tmp_path / "bad", count=2)
    (tmp_path / "bad" / "B" / "junk.png").write_bytes(b"junk")
    prepared = prepare_training(backend="cyclegan", data=tmp_path / "bad", resolution=SIDE)
    assert len(prepared.dataset) == 2 and prepared.dataset.images.shape[1:] == (6, SIDE, SIDE)
    assert [bad.reason for bad in prepared.dataset.report.skipped] == ["not an image"]
