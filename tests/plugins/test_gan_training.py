"""The GAN plugin's training task, driven through a fake StepContext (no dependency on the training runtime)."""

from __future__ import annotations

import contextlib
import math

import genstudio_gan
import pytest
import torch
from genstudio_gan.backend import CGAN, DCGAN, GAN

from genstudio.errors import UserError
from genstudio.training.task import DataInfo, StepContext, TrainingTask

CPU = torch.device("cpu")
IMPLS = {"gan": (GAN, genstudio_gan.GAN_SCHEMA), "dcgan": (DCGAN, genstudio_gan.DCGAN_SCHEMA),
         "cgan": (CGAN, genstudio_gan.CGAN_SCHEMA)}


class FakeStepContext:
    """What the runtime's StepContext does, minus AMP, clipping and DDP."""

    def __init__(self, task, step: int = 0):
        self.task, self.step, self.device = task, step, CPU
        self.steps = {"G": 0, "D": 0}

    def autocast(self):
        return contextlib.nullcontext()

    def backward_and_step(self, loss, optimizer_name, *, retain_graph=False):
        optimizer = self.task.optimizers[optimizer_name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward(retain_graph=retain_graph)
        optimizer.step()
        self.steps[optimizer_name] += 1


def settings(backend: str, channels: int = 3, num_classes: int = 3, **overrides) -> dict:
    """A tiny resolved config at 32 x 32."""
    values = {"resolution": 32, "channels": channels, "ngf": 8, "ndf": 8, "latent_dim": 16}
    if backend == "gan":
        values.update(ngf=32, ndf=32)  # hidden units
    if backend == "cgan":
        values["num_classes"] = num_classes
    return IMPLS[backend][1].resolve({**values, **overrides})


def make_task(backend: str, channels: int = 3, num_classes: int = 3, **overrides):
    data = DataInfo(resolution=32, channels=channels, num_classes=num_classes if backend == "cgan" else 0)
    return IMPLS[backend][0].create_training(settings(backend, channels, num_classes, **overrides), data, CPU)


def batch(count: int = 16, channels: int = 3, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, channels, 32, 32, generator=generator), torch.randint(0, 3, (count,), generator=generator)


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("loss", ["nonsaturating", "lsgan", "hinge", "wgan-gp"])
@pytest.mark.parametrize("backend", ["gan", "dcgan", "cgan"])
def test_two_steps_train(backend, loss):
    torch.manual_seed(0)
    task = make_task(backend, loss=loss, minibatch_std=(loss == "hinge"), r1_gamma=(1.0 if loss == "lsgan" else 0.0))
    assert isinstance(task, TrainingTask)
    assert set(task.modules) == set(task.optimizers) == {"G", "D"} and task.ema_module == "G"
    g_before, d_before = params(task.modules["G"]), params(task.modules["D"])
    ctx = FakeStepContext(task)
    assert isinstance(ctx, StepContext)
    for step in range(2):
        ctx.step = step
        logs = task.train_step(batch(seed=step), ctx)
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(logs)
    assert ("gp" in logs) == (loss == "wgan-gp") and ("r1" in logs) == (loss == "lsgan")
    assert all(isinstance(value, float) and math.isfinite(value) for value in logs.values())
    assert all(not torch.equal(a, b) for a, b in zip(g_before, params(task.modules["G"]), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, params(task.modules["D"]), strict=True))
    assert all(p.requires_grad for p in task.modules["D"].parameters())  # frozen only during G's update


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_n_critic_and_optimizers(optimizer):
    task = make_task("dcgan", channels=1, n_critic=3, optimizer=optimizer, loss="wgan-gp", diffaugment="none")
    expected = torch.optim.Adam if optimizer == "adam" else torch.optim.RMSprop
    assert all(isinstance(opt, expected) for opt in task.optimizers.values())
    ctx = FakeStepContext(task)
    task.train_step(batch(channels=1), ctx)
    assert ctx.steps == {"D": 3, "G": 1}


def test_ttur_learning_rates():
    task = make_task("dcgan", lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9)
    assert task.optimizers["G"].param_groups[0]["lr"] == 1e-4
    assert task.optimizers["D"].param_groups[0]["lr"] == 4e-4
    assert task.optimizers["D"].param_groups[0]["betas"] == (0.0, 0.9)


@pytest.mark.parametrize("backend", ["gan", "dcgan", "cgan"])
def test_sample_and_model_module(backend):
    task = make_task(backend)
    model = task.modules["G"]
    first = task.sample(model, 6, torch.Generator().manual_seed(5))
    again = task.sample(model, 6, torch.Generator().manual_seed(5))
    assert first.shape == (6, 3, 32, 32) and torch.equal(first, again)
    assert first.min() >= 0 and first.max() <= 1
    assert model.training  # the mode is given back
    if backend == "cgan":
        z = torch.randn(6, 16, generator=torch.Generator().manual_seed(5))
        assert torch.equal(first, model.eval().generate(z, torch.tensor([0, 1, 2, 0, 1, 2])))
    assert task.model_module(None) is model
    ema = IMPLS[backend][0].build(settings(backend))  # what model loading builds
    assert task.model_module(ema) is ema
    assert {k: v.shape for k, v in ema.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_data_must_match_the_config():
    schema = genstudio_gan.DCGAN_SCHEMA
    with pytest.raises(UserError, match="64 x 64"):
        DCGAN.create_training(schema.resolve({"resolution": 32}), DataInfo(64, 3, 0), CPU)
    with pytest.raises(UserError, match="channel"):
        DCGAN.create_training(schema.resolve({"resolution": 32, "channels": 3}), DataInfo(32, 1, 0), CPU)
    cgan = genstudio_gan.CGAN_SCHEMA.resolve({"resolution": 32, "num_classes": 4})
    with pytest.raises(UserError, match="class subfolders"):
        CGAN.create_training(cgan, DataInfo(32, 3, 0), CPU)
    with pytest.raises(UserError, match="num_classes=4"):
        CGAN.create_training(cgan, DataInfo(32, 3, 5), CPU)


def test_dcgan_learns_a_trivial_dataset():
    """100 steps (about 1 s on two idle cores): every image is white on the left half, black on the right."""
    torch.manual_seed(0)
    task = make_task("dcgan", channels=1, diffaugment="none", lr_g=1e-3, lr_d=1e-3)
    images = torch.zeros(16, 1, 32, 32)
    images[..., :16] = 1.0
    ctx = FakeStepContext(task)

    def left_minus_right() -> float:
        samples = task.sample(task.modules["G"], 16, torch.Generator().manual_seed(1))
        return float(samples[..., :16].mean() - samples[..., 16:].mean())

    assert abs(left_minus_right()) < 0.05
    for step in range(100):
        ctx.step = step
        task.train_step((images, torch.zeros(16, dtype=torch.long)), ctx)
    assert left_minus_right() > 0.3  # about 0.6 after 100 steps, 0.87 after 150
