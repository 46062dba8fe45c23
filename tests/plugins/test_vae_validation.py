"""The runtime's held-out split (genstudio.training.split), driven by the VAE task that asks for it: which images,
that training never reads them, that `evaluate` scores them into model.json, and exact resume with a split."""

from __future__ import annotations

import json

import genstudio_vae
import pytest
import torch
from genstudio_vae.train import VAETask

from genstudio.errors import UserError
from genstudio.plugins import discover
from genstudio.training import fit
from genstudio.training.split import DatasetView, held_out_count, split_indices

TINY = {"resolution": 32, "channels": 1, "width": 4, "latent_dim": 4, "validation_fraction": 0.25}
OPTIONS = {"device": "cpu", "batch_size": 4, "sample_count": 0, "log_every": 1, "seed": 3}


class Numbered:
    """24 grey 32 x 32 images; image i is filled with the value i, so a batch tells which images it holds."""

    def __init__(self, count: int = 24):
        self.images = torch.arange(count, dtype=torch.uint8).view(count, 1, 1, 1).expand(count, 1, 32, 32).clone()
        self.labels = torch.zeros(count, dtype=torch.long)
        self.classes = []

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index].float() / 255, int(self.labels[index])


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    registry = discover(entry_points=False, plugin_dir=tmp_path_factory.mktemp("plugins"), disabled=set(),
                        extra=[("vae", genstudio_vae)])
    return registry.backend("vae")


def test_held_out_counts():
    assert [held_out_count(100, f) for f in (0.0, 0.1, 0.004, 0.5)] == [0, 10, 1, 50]
    with pytest.raises(UserError, match="none to train on"):
        held_out_count(1, 0.5)
    with pytest.raises(UserError, match="validation fraction"):
        held_out_count(10, 1.0)


def test_split_is_seeded_disjoint_and_complete():
    train, held = split_indices(50, 0.2, seed=7)
    assert len(held) == 10 and len(train) == 40
    assert sorted(torch.cat([train, held]).tolist()) == list(range(50))
    again_train, again_held = split_indices(50, 0.2, seed=7)
    assert torch.equal(held, again_held) and torch.equal(train, again_train)
    assert not torch.equal(held, split_indices(50, 0.2, seed=8)[1])


def test_dataset_view_slices_in_memory_tensors():
    data = Numbered()
    view = DatasetView(data, torch.tensor([5, 2]))
    assert len(view) == 2 and view.images[:, 0, 0, 0].tolist() == [5, 2]
    assert view[1][0][0, 0, 0].item() == pytest.approx(2 / 255)


def test_training_never_reads_held_out_images_and_evaluate_scores_them(spec, tmp_path, monkeypatch):
    seen: set[int] = set()
    evaluated: list[int] = []
    train_step, evaluate = VAETask.train_step, VAETask.evaluate

    def spy_step(self, batch, ctx):
        seen.update((batch[0][:, 0, 0, 0] * 255).round().long().tolist())
        return train_step(self, batch, ctx)

    def spy_evaluate(self, module, images, labels):
        assert not module.training and not torch.is_grad_enabled()
        evaluated.extend((images[:, 0, 0, 0] * 255).round().long().tolist())
        return evaluate(self, module, images, labels)

    monkeypatch.setattr(VAETask, "train_step", spy_step)
    monkeypatch.setattr(VAETask, "evaluate", spy_evaluate)
    summary = fit(spec, TINY, Numbered(), tmp_path / "run", steps=10, **OPTIONS)  # 2 epochs of 4-image batches
    train, held = split_indices(24, 0.25, OPTIONS["seed"])
    assert seen == set(train.tolist())
    assert evaluated == held.tolist()
    assert json.loads((tmp_path / "run" / "model.json").read_text())["metrics"] == summary.metrics
    assert summary.metrics["val_images"] == 6


def test_without_a_fraction_every_image_trains_and_no_metrics(spec, tmp_path, monkeypatch):
    seen: set[int] = set()
    train_step = VAETask.train_step

    def spy_step(self, batch, ctx):
        seen.update((batch[0][:, 0, 0, 0] * 255).round().long().tolist())
        return train_step(self, batch, ctx)

    monkeypatch.setattr(VAETask, "train_step", spy_step)
    summary = fit(spec, {**TINY, "validation_fraction": 0.0}, Numbered(), tmp_path / "run", steps=6, **OPTIONS)
    assert seen == set(range(24)) and summary.metrics == {}
    assert json.loads((tmp_path / "run" / "model.json").read_text())["metrics"] == {}


def test_resume_with_a_split_repeats_the_straight_run(spec, tmp_path):
    from safetensors.torch import load_file

    options = {**OPTIONS, "deterministic": True, "checkpoint_every": 3}
    straight = fit(spec, TINY, Numbered(), tmp_path / "straight", steps=8, **options)
    fit(spec, TINY, Numbered(), tmp_path / "resumed", steps=3, **options)
    resumed = fit(spec, TINY, Numbered(), tmp_path / "resumed", steps=8, resume=True, **options)
    assert resumed.resumed_from == 3
    a, b = (load_file(tmp_path / name / "weights.safetensors") for name in ("straight", "resumed"))
    assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)
    assert resumed.metrics == straight.metrics

    def losses(name):
        return [json.loads(line)["loss"] for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]

    assert losses("resumed") == losses("straight")
