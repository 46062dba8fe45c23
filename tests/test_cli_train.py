"""`genstudio train` end to end on a few generated images: the files it writes, --json, and --resume."""

from __future__ import annotations

import json

from PIL import Image

from tests.toys import shade_classes


def test_train_writes_a_loadable_model_and_resumes(run_cli, tmp_path):
    data = shade_classes(tmp_path / "data")
    out = tmp_path / "model"
    args = ["train", "dcgan", "--data", str(data), "--out", str(out), "--resolution", "32", "--batch-size", "4",
            "--set", "channels=1", "--set", "ngf=4", "--set", "ndf=4", "--json"]
    first = run_cli(*args, "--steps", "2", timeout=300)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["steps"] == 2 and not summary["cancelled"]
    assert {"model.json", "weights.safetensors", "samples.png", "metrics.jsonl"} <= {p.name for p in out.iterdir()}
    card = json.loads((out / "model.json").read_text())
    assert card["backend"] == "dcgan" and card["config"]["channels"] == 1

    again = run_cli(*args, "--steps", "3", timeout=300)
    assert again.returncode == 2 and "--resume" in again.stderr  # never overwrites a run silently
    resumed = run_cli(*args, "--steps", "3", "--resume", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_from"] == 2


def test_train_rejects_untrainable_backend_and_both_lengths(run_cli, tmp_path):
    data = shade_classes(tmp_path / "data")
    untrainable = run_cli("train", "shapes", "--data", str(data), "--out", str(tmp_path / "m"), "--steps", "1")
    assert untrainable.returncode == 2 and "not trainable" in untrainable.stderr
    both = run_cli("train", "dcgan", "--data", str(data), "--out", str(tmp_path / "m"), "--steps", "1", "--epochs", "1")
    assert both.returncode == 2 and "not both" in both.stderr


def test_conditional_backend_takes_its_class_count_from_the_folders(run_cli, tmp_path):
    data = shade_classes(tmp_path / "data")  # two class folders; cgan's default num_classes is 10
    (data / "mid").mkdir()
    for index in range(4):
        Image.new("L", (16, 16), 120 + index).save(data / "mid" / f"{index}.png")
    base = ["train", "cgan", "--data", str(data), "--resolution", "32", "--batch-size", "4", "--steps", "1",
            "--set", "channels=1", "--set", "ngf=4", "--set", "ndf=4", "--json"]
    done = run_cli(*base, "--out", str(tmp_path / "auto"), timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "auto" / "model.json").read_text())["config"]["num_classes"] == 3
    # an explicit, wrong count is still the user's word, and gets the one-line explanation
    wrong = run_cli(*base, "--out", str(tmp_path / "wrong"), "--set", "num_classes=5", timeout=300)
    assert wrong.returncode == 2 and "3 classes" in wrong.stderr and "num_classes=3" in wrong.stderr
