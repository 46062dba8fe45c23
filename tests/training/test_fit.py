"""fit: what a run writes, the options it refuses, and the progress it reports."""

from __future__ import annotations

import json

import pytest

from genstudio.errors import UserError
from genstudio.events import EventCollector
from genstudio.models import load_model
from genstudio.training import TrainingSummary, fit

from .toy_setup import ToyDataset, read_records, toy_spec

FAST = {"device": "cpu", "deterministic": True, "batch_size": 8, "sample_count": 4}


def test_fit_writes_model_samples_metrics_and_checkpoints(tmp_path):
    events = EventCollector()
    out = tmp_path / "run"
    summary = fit(toy_spec(), {}, ToyDataset(), out, steps=10, checkpoint_every=4, sample_every=5, log_every=2,
                  progress=events, **FAST)
    assert isinstance(summary, TrainingSummary)
    assert (summary.steps, summary.cancelled, summary.resumed_from) == (10, False, None)
    assert set(summary.final_losses) == {"loss_e", "loss_g"} and summary.images_per_second > 0
    card = json.loads((out / "model.json").read_text())
    assert card["backend"] == "toy-trainer" and card["extra"] == {"class_names": ["a", "b"], "steps": 10}
    assert card["data"] == {"root": "memory", "loaded": 40}
    assert (out / "weights.safetensors").is_file() and (out / "samples.png").is_file()
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-000005.png", "step-000010.png"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000004", "step-00000008",
                                                                      "step-00000010"]
    records = read_records(out)
    assert [r["step"] for r in records] == [2, 4, 6, 8, 10]
    assert set(records[0]) == {"step", "loss_e", "loss_g", "images_per_s", "lr", "elapsed"}
    assert records[0]["lr"] == {"G": 0.01, "E": 0.01}
    progress = events.of_kind("progress")
    assert [e.done for e in progress] == [2, 4, 6, 8, 10] and progress[-1].total == 10
    assert "loss_g" in progress[-1].stats and events.of_kind("end")[0].message == "trained 10 steps"


def test_saved_model_loads_through_the_model_loader(tmp_path):
    import torch

    out = tmp_path / "run"
    fit(toy_spec(), {"hidden": 8}, ToyDataset(), out, steps=2, **FAST)
    loaded = load_model(out, registry=_registry_with(toy_spec()))
    assert loaded.card.config["hidden"] == 8
    assert loaded.module.generate(torch.zeros(1, 4)).shape == (1, 1, 8, 8)


def _registry_with(spec):
    class Hooks:
        class hook:  # noqa: N801 - mimics pluggy's manager.hook
            @staticmethod
            def upgrade_model_config(**_):
                return None

    class Registry:
        manager = Hooks

        @staticmethod
        def backend(backend_id):
            assert backend_id == spec.id
            return spec

    return Registry()


def test_keeps_only_the_newest_checkpoints(tmp_path):
    out = tmp_path / "run"
    fit(toy_spec(), {}, ToyDataset(), out, steps=9, checkpoint_every=2, keep_checkpoints=2, **FAST)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000008", "step-00000009"]


def test_epochs_count_full_batches(tmp_path):
    summary = fit(toy_spec(), {}, ToyDataset(), tmp_path / "run", epochs=2, **FAST)  # 40 // 8 = 5 per epoch
    assert summary.steps == 10


def test_refuses_to_overwrite_a_run_without_resume(tmp_path):
    out = tmp_path / "run"
    fit(toy_spec(), {}, ToyDataset(), out, steps=2, **FAST)
    with pytest.raises(UserError, match="--resume"):
        fit(toy_spec(), {}, ToyDataset(), out, steps=4, **FAST)


def test_user_errors(tmp_path):
    with pytest.raises(UserError, match="backend toy-trainer is not trainable"):
        fit(toy_spec(trainable=False), {}, ToyDataset(), tmp_path / "a", steps=1, **FAST)
    with pytest.raises(UserError, match="no images"):
        fit(toy_spec(), {}, ToyDataset(count=0), tmp_path / "b", steps=1, **FAST)
    with pytest.raises(UserError, match="steps or epochs"):
        fit(toy_spec(), {}, ToyDataset(), tmp_path / "c", **FAST)
    with pytest.raises(UserError, match="amp"):
        fit(toy_spec(), {}, ToyDataset(), tmp_path / "d", steps=1, **{**FAST, "amp": "fp8"})


def test_batch_larger_than_dataset_is_clamped(tmp_path):
    events = EventCollector()
    summary = fit(toy_spec(), {}, ToyDataset(count=5), tmp_path / "run", steps=2,
                  progress=events, **{**FAST, "batch_size": 64})
    assert summary.steps == 2
    assert any("using 5" in e.message for e in events.of_kind("log"))


def test_no_ema_and_grad_clip_and_generic_dataset(tmp_path):
    class ItemsOnly:  # no .images tensor: read item by item
        def __init__(self):
            self.inner = ToyDataset()
            self.classes = []

        def __len__(self):
            return len(self.inner)

        def __getitem__(self, index):
            return self.inner[index]

    summary = fit(toy_spec(), {}, ItemsOnly(), tmp_path / "run", steps=3, ema_decay=0.0, grad_clip=0.5, **FAST)
    assert summary.steps == 3
    assert json.loads((tmp_path / "run" / "model.json").read_text())["extra"]["class_names"] == []


def test_trains_on_an_image_folder(tmp_path):
    import numpy as np
    from PIL import Image

    from genstudio.data import ImageFolderDataset

    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "data" / cls / f"{i}.png")
    dataset = ImageFolderDataset(tmp_path / "data", 8, channels=3, cache=False)
    out = tmp_path / "run"
    fit(toy_spec(), {"channels": 3}, dataset, out, steps=3, **{**FAST, "batch_size": 4})
    card = json.loads((out / "model.json").read_text())
    assert card["extra"]["class_names"] == ["cats", "dogs"] and card["data"]["loaded"] == 12


def test_importing_the_package_stays_light():
    import subprocess
    import sys

    code = "import sys, genstudio.training as t; assert t.DataInfo; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
