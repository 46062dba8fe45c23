"""`genstudio generate` end to end, and a training run killed with SIGKILL that `--resume` continues."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from genstudio.models import save_model
from genstudio.plugins import get_registry
from genstudio.provenance import read_provenance


def tiny_model(folder, backend="dcgan"):
    spec = get_registry().backend(backend)
    config = spec.schema.resolve({"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 3})
    save_model(folder, spec, config, spec.load().build(config).state_dict())
    return folder


def digests(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.png"))}


def test_generate_twice_gives_identical_files_with_provenance(run_cli, tmp_path):
    model = tiny_model(tmp_path / "m")
    out = tmp_path / "g"
    first = run_cli("generate", str(model), "--count", "4", "--out", str(out), "--seed", "1", "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["written"] == 4 and summary["count"] == 4 and summary["device"].startswith("cpu")
    before = digests(out)
    assert len(before) == 4
    second = run_cli("generate", str(model), "--count", "4", "--out", str(out), "--seed", "1", "--batch-size", "3")
    assert second.returncode == 0, second.stderr
    assert "0 written, 4 already up to date" in second.stdout
    assert digests(out) == before
    record = read_provenance(out / "seed1-00002.png")
    assert record["parameters"]["index"] == 2 and record["backend"] == "dcgan"
    with Image.open(out / "seed1-00002.png") as image:
        assert image.size == (32, 32) and image.mode == "RGB"


def test_generate_errors_are_one_line(run_cli, tmp_path):
    missing = run_cli("generate", str(tmp_path / "nope"), "--out", str(tmp_path / "g"))
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1 and "model.json" in missing.stderr
    model = tiny_model(tmp_path / "m")
    labelled = run_cli("generate", str(model), "--out", str(tmp_path / "g"), "--label", "3")
    assert labelled.returncode == 2 and "not conditional" in labelled.stderr


def make_data(root):
    for label in ("dark", "light"):
        (root / label).mkdir(parents=True)
        for index in range(8):
            Image.new("L", (8, 8), 30 + index * 10 if label == "dark" else 220 - index * 10).save(
                root / label / f"{index}.png")
    return root


def latest_checkpoint(out):
    steps = [int(p.name.split("-")[1]) for p in (out / "checkpoints").glob("step-*") if p.is_dir()]
    return max(steps, default=None)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_training_then_resume(run_cli, tmp_path):
    data = make_data(tmp_path / "data")
    out = tmp_path / "m"
    args = ["train", "gan", "--data", str(data), "--out", str(out), "--resolution", "8", "--batch-size", "4",
            "--set", "channels=1", "--set", "ngf=8", "--set", "ndf=8", "--set", "hidden_layers=1", "--json"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, "-m", "genstudio", *args, "--steps", "100000"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while latest_checkpoint(out) is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "model.json").exists()  # killed before the end: no model card claims a finished model
    reached = latest_checkpoint(out)
    assert reached is not None and reached % 500 == 0

    resumed = run_cli(*args, "--steps", str(reached + 10), "--resume", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_from"] == reached and summary["steps"] == reached + 10
    assert (out / "model.json").is_file()
    assert not list(out.rglob(".tmp-*")) and not list(out.rglob("*.tmp"))  # whatever the kill cut short is gone
