"""The VAE family's training task: steps through a fake StepContext, KL warm-up, and 2-step smoke runs of both
backends through the real runtime on generated images."""

from __future__ import annotations

import contextlib
import json
import math

import genstudio_vae
import pytest
import torch
from genstudio_vae.backend import CVAE, VAE
from genstudio_vae.train import kl_weight

from genstudio.errors import UserError
from genstudio.models import load_model
from genstudio.plugins import discover
from genstudio.training import fit
from genstudio.training.task import DataInfo, StepContext, TrainingTask

CPU = torch.device("cpu")
TINY = {"resolution": 32, "channels": 1, "width": 4, "latent_dim": 4}


class FakeStepContext:
    """What the runtime's StepContext does, minus AMP, clipping and DDP."""

    def __init__(self, task, step: int = 0):
        self.task, self.step, self.device = task, step, CPU

    def autocast(self):
        return contextlib.nullcontext()

    def backward_and_step(self, loss, optimizer_name, *, retain_graph=False):
        optimizer = self.task.optimizers[optimizer_name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward(retain_graph=retain_graph)
        optimizer.step()


def make_task(backend: str = "vae", **overrides):
    impl, schema = (VAE, genstudio_vae.VAE_SCHEMA) if backend == "vae" else (CVAE, genstudio_vae.CVAE_SCHEMA)
    config = schema.resolve({**TINY, **({"num_classes": 3} if backend == "cvae" else {}), **overrides})
    data = DataInfo(resolution=32, channels=1, num_classes=3 if backend == "cvae" else 0)
    return impl.create_training(config, data, CPU)


def batch(count: int = 8, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 1, 32, 32, generator=generator), torch.randint(0, 3, (count,), generator=generator)


class Images:
    """Generated grey 32 x 32 images in 2 classes, held as ImageFolderDataset holds them."""

    def __init__(self, count: int = 24):
        generator = torch.Generator().manual_seed(11)
        self.images = torch.randint(0, 256, (count, 1, 32, 32), generator=generator, dtype=torch.uint8)
        self.labels = torch.arange(count) % 2
        self.classes = ["a", "b"]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index].float() / 255, int(self.labels[index])


@pytest.mark.parametrize("backend", ["vae", "cvae"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_two_steps_train(backend, likelihood):
    torch.manual_seed(0)
    task = make_task(backend, likelihood=likelihood)
    assert isinstance(task, TrainingTask) and task.ema_module is None
    assert set(task.modules) == set(task.optimizers) == {"vae"}
    before = [p.detach().clone() for p in task.modules["vae"].parameters()]
    ctx = FakeStepContext(task)
    assert isinstance(ctx, StepContext)
    for step in range(2):
        ctx.step = step
        logs = task.train_step(batch(seed=step), ctx)
    assert {"loss", "recon", "kl", "neg_elbo", "kl_weight"} <= set(logs)
    assert ("sigma" in logs) == (likelihood == "gaussian")
    assert all(isinstance(value, float) and math.isfinite(value) for value in logs.values())
    assert logs["neg_elbo"] == pytest.approx(logs["recon"] + logs["kl"], rel=1e-5)
    after = list(task.modules["vae"].parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))  # log_std too, when learned
    images = task.sample(task.modules["vae"], 6, torch.Generator().manual_seed(0))
    assert images.shape == (6, 1, 32, 32) and images.min() >= 0 and images.max() <= 1


def test_kl_warmup_and_beta():
    assert [kl_weight(step, 1.0, 0) for step in (0, 5)] == [1.0, 1.0]
    assert [kl_weight(step, 4.0, 4) for step in (0, 1, 3, 10)] == [1.0, 2.0, 4.0, 4.0]
    task = make_task(beta=2.0, kl_warmup_steps=10)
    logs = task.train_step(batch(), FakeStepContext(task, step=4))
    assert logs["kl_weight"] == pytest.approx(1.0)  # 2.0 * 5 / 10
    assert logs["loss"] == pytest.approx(logs["recon"] + logs["kl_weight"] * logs["kl"], rel=1e-5)


def test_data_mismatches_are_user_errors():
    with pytest.raises(UserError, match="num_classes=2"):
        CVAE.create_training(genstudio_vae.CVAE_SCHEMA.resolve({**TINY, "num_classes": 3}),
                             DataInfo(resolution=32, channels=1, num_classes=2), CPU)
    with pytest.raises(UserError, match="at least 2 class"):
        CVAE.create_training(genstudio_vae.CVAE_SCHEMA.resolve(TINY), DataInfo(32, 1, 0), CPU)
    with pytest.raises(UserError, match="channel"):
        VAE.create_training(genstudio_vae.VAE_SCHEMA.resolve(TINY), DataInfo(32, 3, 0), CPU)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return discover(entry_points=False, plugin_dir=tmp_path_factory.mktemp("plugins"), disabled=set(),
                    extra=[("vae", genstudio_vae)])


@pytest.mark.parametrize("backend", ["vae", "cvae"])
def test_smoke_fit_writes_a_loadable_model_with_held_out_metrics(registry, backend, tmp_path):
    spec = registry.backend(backend)
    config = {**TINY, **({"num_classes": 2} if backend == "cvae" else {}), "validation_fraction": 0.25}
    summary = fit(spec, config, Images(), tmp_path / "run", steps=2, batch_size=4, device="cpu", sample_count=4,
                  log_every=1)
    assert summary.steps == 2
    card = json.loads((tmp_path / "run" / "model.json").read_text())
    metrics = card["metrics"]
    assert metrics == summary.metrics and metrics["val_images"] == 6  # 25% of 24
    assert metrics["val_neg_elbo"] > 0 and metrics["val_kl"] >= 0
    assert metrics["val_neg_elbo_per_dim"] == pytest.approx(metrics["val_neg_elbo"] / 1024)
    assert metrics["val_bits_per_dim"] == pytest.approx(metrics["val_neg_elbo_per_dim"] / math.log(2))
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"loss", "recon", "kl"} <= set(records[-1])
    loaded = load_model(tmp_path / "run", registry=registry)
    assert loaded.module.num_classes == (2 if backend == "cvae" else 0)
    assert (tmp_path / "run" / "samples.png").is_file()
