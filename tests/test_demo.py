"""`genstudio demo` with a tiny step count: every result where it says, each made by the operation a user would run
(provenance and model.json say so), a rerun reuses what is done, a different --steps over a trained model is one
line, and the same demo runs in-process (the operation) as from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from genstudio.errors import UserError
from genstudio.provenance import read_provenance


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One CLI demo run (2 steps), shared by the tests that read its results."""
    import os
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("demo") / "try"
    env = dict(os.environ, GENSTUDIO_HOME=str(home), COLUMNS="200")
    env["GENSTUDIO_ENTRY_POINTS_ONLY_IN"] = str(out.parent)
    command = [sys.executable, "-m", "genstudio", "demo", "--out", str(out), "--steps", "2", "--device", "cpu"]
    first = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env, timeout=600)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    return out, first, second


def test_every_result_is_where_the_demo_says(demo_run):
    out, first, _ = demo_run
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["out"] == str(out) and result["steps"] == 2 and result["trained"]
    assert sorted(p.name for p in (out / "data").iterdir() if p.is_dir()) == ["circle", "square", "triangle"]
    assert json.loads((out / "data" / "manifest.json").read_text())["generator"]["backend"] == "shapes"
    card = json.loads((Path(result["model"]) / "model.json").read_text())
    assert card["backend"] == "cgan" and card["extra"]["steps"] == 2
    assert card["extra"]["onnx"]["parity_passed"] and Path(result["onnx"]).is_file()
    assert result["onnx_max_abs_error"] <= card["extra"]["onnx"]["tolerance"]
    grid = read_provenance(result["grid"])
    assert grid["operation"] == "generate-grid" and grid["model_sha256"] == card["weights_sha256"]
    stylized = read_provenance(result["stylized"])
    assert stylized["backend"] == "gatys" and stylized["parameters"]["config"]["features"] == "random"
    assert stylized["input"] == result["grid"] and stylized["style"] == result["style"]
    with Image.open(result["stylized"]) as image:
        assert max(image.size) == 96
    assert set(result["seconds"]) == {"sample_set", "train", "generate", "export", "stylize"}


def test_a_rerun_reuses_the_model_and_prints_where_things_are(demo_run):
    out, _, second = demo_run
    assert second.returncode == 0, second.stderr
    assert "reused the model trained before" in second.stdout
    for what in ("sample set", "trained model", "samples", "ONNX model", "stylized"):
        assert what in second.stdout
    assert str(out / "stylized" / "seed0-grid.png") in second.stdout
    assert "reusing the model" in second.stderr  # the step log, above the progress bars


def test_other_steps_over_a_trained_model_is_one_line(demo_run, monkeypatch):
    from genstudio.operations.demo import run_demo

    out, _, _ = demo_run
    with pytest.raises(UserError, match="trained for 2 steps, not 5") as caught:
        run_demo(out=out, steps=5, device="cpu")
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="at least 1"):
        run_demo(out=out, steps=0)


def test_the_demo_job_gives_the_commands_results(demo_run):
    """The app's Help > Run the demo queues this job; over the CLI's folder it reuses the same model and results."""
    from genstudio.jobs.builtin import run_demo
    from genstudio.jobs.runners import runner_spec

    out, first, _ = demo_run
    cli = json.loads(first.stdout)
    params = runner_spec("demo").prepare({"out": str(out), "steps": 2, "device": "cpu"})
    result = run_demo(params, lambda event: None, lambda: False)
    assert not result["trained"]
    assert {key: result[key] for key in ("model", "grid", "onnx", "stylized")} == \
        {key: cli[key] for key in ("model", "grid", "onnx", "stylized")}
    assert result["files"] == [cli["grid"], cli["stylized"]]
    with pytest.raises(UserError, match="does not take"):
        run_demo({"out": str(out), "count": 3}, lambda event: None, lambda: False)
