"""The reconstruct and interpolate operations (genstudio.operations.autoencode): the CLI is a thin adapter over
them (same files, same provenance), `genstudio reproduce` makes their images again, moved or altered inputs are
refused with one line, conditional models need a label."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from genstudio.errors import Cancelled, UserError
from genstudio.events import EventCollector
from genstudio.operations.autoencode import interpolate, reconstruct
from genstudio.provenance import read_provenance, without_time
from genstudio.reproduce import reproduce
from tests.test_cli_vae import trained_autoencoders


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A trained vae and a trained cvae (2 steps), with their image folder."""
    return trained_autoencoders(tmp_path_factory.mktemp("vae-op"))


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.int16)


def same_files(left, right) -> None:
    """Same file names, pixels and provenance (time aside) in two output folders."""
    names = sorted(p.name for p in left.iterdir())
    assert names == sorted(p.name for p in right.iterdir())
    for name in names:
        assert np.array_equal(pixels(left / name), pixels(right / name)), name
        assert without_time(read_provenance(left / name)) == without_time(read_provenance(right / name)), name


def test_operation_and_cli_write_identical_files(run_cli, models, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    events = EventCollector()
    result = reconstruct(model=models / "vae", inputs=[models / "data", bad], out=tmp_path / "op", compare=True,
                         device="cpu", progress=events)
    assert result.exit_code == 1 and len(result.written) == 6 and result.failed == [
        {"input": str(bad), "reason": "not an image"}]
    ticks = events.of_kind("progress")
    assert len(ticks) == 7 and ticks[-1].done == ticks[-1].total == 7  # one per input, the bad one included
    assert any("skipped" in event.message and event.level == "warning" for event in events.of_kind("log"))
    cli = run_cli("reconstruct", str(models / "vae"), str(models / "data"), str(bad), "--out", str(tmp_path / "cli"),
                  "--compare", "--json", "--device", "cpu")
    assert cli.returncode == 1, cli.stderr
    report = json.loads(cli.stdout)
    assert report == {**result.to_dict(), "out": str(tmp_path / "cli"),
                      "written": [{key: value.replace("/op/", "/cli/") for key, value in entry.items()}
                                  for entry in result.written]}
    same_files(tmp_path / "op", tmp_path / "cli")
    record = read_provenance(tmp_path / "op" / "a1.png")
    assert record["operation"] == "reconstruct" and record["model"] == str((models / "vae").resolve())
    assert record["input"] == str((models / "data" / "a" / "a1.png").resolve())
    assert record["parameters"] == {"label": None}
    assert read_provenance(tmp_path / "op" / "a1-compare.png")["parameters"] == {"label": None, "compare": True}

    image_a, image_b = models / "data" / "a" / "a0.png", models / "data" / "b" / "b2.png"
    events = EventCollector()
    path = interpolate(model=models / "vae", image_a=image_a, image_b=image_b, out=tmp_path / "iop", steps=5,
                       device="cpu", progress=events)
    assert len(events.of_kind("progress")) == 5 and len(path.files) == 5
    cli = run_cli("interpolate", str(models / "vae"), str(image_a), str(image_b), "--steps", "5", "--out",
                  str(tmp_path / "icli"), "--json", "--device", "cpu")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["files"] == [name.replace("/iop/", "/icli/") for name in path.files]
    same_files(tmp_path / "iop", tmp_path / "icli")
    record = read_provenance(tmp_path / "iop" / "step-003.png")
    assert record["operation"] == "interpolate" and record["model"] == str((models / "vae").resolve())
    assert record["input_a"] == str(image_a.resolve()) and record["input_b"] == str(image_b.resolve())
    assert record["parameters"] == {"steps": 5, "step": 3, "t": 0.75, "label": None}


def test_reproduce_gives_identical_pixels(models, tmp_path):
    reconstruct(model=models / "vae", inputs=[models / "data"], out=tmp_path / "out", compare=True, device="cpu")
    interpolate(model=models / "vae", image_a=models / "data" / "a" / "a2.png",
                image_b=models / "data" / "b" / "b0.png", out=tmp_path / "path", steps=4, device="cpu")
    for made in ("out/b1.png", "out/b1-compare.png", "path/step-002.png", "path/strip.png"):
        again = tmp_path / "again" / made.replace("/", "-")
        result = reproduce(tmp_path / made, again)
        assert result.identical and result.max_difference == 0, made
        assert result.operation == ("reconstruct" if made.startswith("out") else "interpolate")
        assert without_time(read_provenance(again)) == without_time(read_provenance(tmp_path / made))


def test_reproduce_refuses_moved_or_altered_inputs(models, tmp_path):
    first, second = tmp_path / "in" / "first.png", tmp_path / "in" / "second.png"
    first.parent.mkdir()
    shutil.copy(models / "data" / "a" / "a0.png", first)
    shutil.copy(models / "data" / "b" / "b1.png", second)
    reconstruct(model=models / "vae", inputs=[first], out=tmp_path / "out", device="cpu")
    interpolate(model=models / "vae", image_a=first, image_b=second, out=tmp_path / "path", steps=3, device="cpu")
    moved = tmp_path / "moved.png"
    first.rename(moved)
    for made in (tmp_path / "out" / "first.png", tmp_path / "path" / "step-001.png"):
        with pytest.raises(UserError, match="not there any more; pass it with --input") as missing:
            reproduce(made, tmp_path / "again" / made.name)
        assert len(str(missing.value).splitlines()) == 1 and str(first) in str(missing.value)
        assert reproduce(made, tmp_path / "again" / made.name, source=str(moved)).identical  # found again
    with pytest.raises(UserError, match="neither of the two images"):
        reproduce(tmp_path / "path" / "step-001.png", tmp_path / "again" / "x.png",
                  source=str(models / "data" / "b" / "b2.png"))
    Image.fromarray(np.zeros((32, 32), dtype=np.uint8), "L").save(first)  # back in place, but altered
    for made in (tmp_path / "out" / "first.png", tmp_path / "path" / "strip.png"):
        with pytest.raises(UserError, match="sha256 differs") as altered:
            reproduce(made, tmp_path / "again" / f"altered-{made.name}")
        assert len(str(altered.value).splitlines()) == 1
    with pytest.raises(UserError, match="not the model that made this image"):
        reproduce(tmp_path / "out" / "first.png", tmp_path / "again" / "other.png", source=str(moved),
                  model=str(models / "cvae"))


def test_conditional_models_need_a_label(models, tmp_path):
    image = models / "data" / "a" / "a0.png"
    with pytest.raises(UserError, match="--label") as missing:
        reconstruct(model=models / "cvae", inputs=[image], out=tmp_path / "x", device="cpu")
    assert len(str(missing.value).splitlines()) == 1 and not (tmp_path / "x").exists()
    with pytest.raises(UserError, match="--label"):
        interpolate(model=models / "cvae", image_a=image, image_b=image, out=tmp_path / "y", steps=2, device="cpu")
    result = reconstruct(model=models / "cvae", inputs=[image], out=tmp_path / "b", label="b", device="cpu")
    assert result.exit_code == 0 and read_provenance(tmp_path / "b" / "a0.png")["parameters"]["label"] == 1
    reconstruct(model=models / "cvae", inputs=[image], out=tmp_path / "a", label=0, device="cpu")
    assert not np.array_equal(pixels(tmp_path / "a" / "a0.png"), pixels(tmp_path / "b" / "a0.png"))
    assert reproduce(tmp_path / "b" / "a0.png", tmp_path / "again.png").identical  # the label comes from the record


def test_abort_stops_before_writing(models, tmp_path):
    with pytest.raises(Cancelled):
        reconstruct(model=models / "vae", inputs=[models / "data"], out=tmp_path / "r", device="cpu",
                    abort=lambda: True)
    with pytest.raises(Cancelled):
        interpolate(model=models / "vae", image_a=models / "data" / "a" / "a0.png",
                    image_b=models / "data" / "a" / "a1.png", out=tmp_path / "i", device="cpu", abort=lambda: True)
    assert not (tmp_path / "r").exists() and not (tmp_path / "i").exists()


def test_job_runners_write_what_the_operations_write(models, tmp_path):
    """The third entry point: reconstruct and interpolate jobs (the queue's runners) give the same files."""
    from genstudio.jobs import runner_spec
    from genstudio.jobs.builtin import run_interpolate, run_reconstruct

    quiet, never = (lambda event: None), (lambda: False)
    reconstruct(model=models / "cvae", inputs=[models / "data" / "a"], out=tmp_path / "op", label="b", device="cpu")
    params = runner_spec("reconstruct").prepare({"model": str(models / "cvae"), "inputs": [str(models / "data" / "a")],
                                                 "out": str(tmp_path / "job"), "label": "b", "device": "cpu"})
    assert run_reconstruct(params, quiet, never)["failed"] == []
    same_files(tmp_path / "op", tmp_path / "job")

    image_a, image_b = models / "data" / "a" / "a0.png", models / "data" / "b" / "b2.png"
    interpolate(model=models / "vae", image_a=image_a, image_b=image_b, out=tmp_path / "iop", steps=3, device="cpu")
    params = runner_spec("interpolate").prepare({"model": str(models / "vae"), "image_a": str(image_a),
                                                 "image_b": str(image_b), "out": str(tmp_path / "ijob"), "steps": 3,
                                                 "device": "cpu"})
    assert len(run_interpolate(params, quiet, never)["files"]) == 3
    same_files(tmp_path / "iop", tmp_path / "ijob")
    with pytest.raises(UserError, match="does not take the parameter"):
        run_interpolate({**params, "compare": True}, quiet, never)
