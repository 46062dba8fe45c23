"""How the restorer's training shares one network between tasks: each task's reconstruction loss is divided by its
own running scale (task_balance=scale, Kendall et al. 2018), so upscaling's small residual gets as much of the
gradient as the holes' large errors; 0.2's single pixel mean stays available; the saved model is the weights' EMA."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
import torch

from .conftest import SIDE


def make_task(**settings):
    from genstudio_restore.backend import RestoreBackend
    from genstudio_restore.train import RestoreTask

    from genstudio.plugins import get_registry

    spec = get_registry().backend("restore")
    config = spec.schema.resolve({"size": "lite", "width": 4, "perceptual": "off", "resolution": SIDE,
                                  "tasks": "inpaint,upscale", "lambda_adv": 0.0, **settings})
    return RestoreTask(RestoreBackend.build(config), config, None)


def test_each_task_loss_is_divided_by_its_own_running_scale():
    from genstudio_restore import TASKS
    from genstudio_restore.train import TaskScales

    scales = TaskScales(decay=0.9)
    index = torch.tensor([TASKS.index("inpaint")] * 2 + [TASKS.index("upscale")] * 2)
    losses = torch.tensor([0.3, 0.1, 0.004, 0.006], requires_grad=True)
    normalised = scales.normalise(losses, index)
    assert torch.allclose(normalised, torch.tensor([1.5, 0.5, 0.8, 1.2]))  # each task's mean is 1
    normalised.mean().backward()
    assert losses.grad[2] / losses.grad[0] == pytest.approx(0.2 / 0.005)  # the small task's gradient is not drowned
    assert scales.scale[TASKS.index("denoise")] == 0  # a task not seen keeps no scale
    scales.normalise(torch.tensor([0.1, 0.1, 0.015, 0.015]), index)
    assert scales.scale[TASKS.index("upscale")] == pytest.approx(0.9 * 0.005 + 0.1 * 0.015)  # a running mean


def fake_ctx(task, step=0):
    seen = {}

    def backward_and_step(loss, name):
        seen[name] = float(loss.detach())
        task.optimizers[name].zero_grad()
        loss.backward()
        seen["grads"] = {key: value.grad.clone() for key, value in task.modules["G"].named_parameters()}
        task.optimizers[name].step()

    return SimpleNamespace(step=step, autocast=contextlib.nullcontext, backward_and_step=backward_and_step), seen


@pytest.mark.parametrize("balance", ["scale", "pixels"])
def test_a_training_step_balances_the_tasks_as_configured(balance):
    task = make_task(task_balance=balance)
    torch.manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(0, 1, SIDE), torch.linspace(0, 1, SIDE), indexing="ij")
    clean = torch.stack([x, y, (x * 7).sin() * 0.5 + 0.5])[None].repeat(4, 1, 1, 1)  # inpaint, upscale, ...
    ctx, seen = fake_ctx(task)
    task.train_step((clean, torch.zeros(4, dtype=torch.long)), ctx)
    assert "D" not in seen  # lambda_adv 0: no discriminator
    if balance == "scale":
        scale = task.modules["scales"].scale
        assert scale[0] > scale[2] > 0  # inpaint's holes err far more than bicubic's residual
        assert seen["G"] == pytest.approx(1.0)  # every task's loss about 1 at its first step
    else:
        assert "scales" not in task.modules and 0 < seen["G"] < 0.5  # the raw pixel mean
    assert any(grad.abs().sum() > 0 for grad in seen["grads"].values())


def test_the_saved_restorer_is_the_moving_average_of_its_weights():
    task = make_task()
    assert task.ema_module == "G"
    ema = torch.nn.Linear(1, 1)
    assert task.model_module(ema) is ema and task.model_module(None) is task.modules["G"]


def test_a_model_from_before_task_balance_loads_and_reads_as_trained_by_the_pixel_mean(tmp_path):
    import json

    import numpy as np
    from genstudio_restore.backend import RestoreBackend

    from genstudio.batch.restore import open_restorer
    from genstudio.models import load_model, save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("restore")
    config = spec.schema.resolve({"size": "lite", "width": 4, "tasks": "inpaint,upscale"})
    save_model(tmp_path / "old", spec, config, RestoreBackend.build(config).state_dict())
    card = json.loads((tmp_path / "old" / "model.json").read_text())
    assert card["config"]["task_balance"] == "scale"  # a new model records its balance
    del card["config"]["task_balance"]
    card["plugin_version"] = "0.2.0"  # as restore 0.2 wrote it
    (tmp_path / "old" / "model.json").write_text(json.dumps(card))
    assert load_model(tmp_path / "old").card.config["task_balance"] == "pixels"
    restorer = open_restorer(str(tmp_path / "old"), task="upscale", masks=None, device="cpu", runtime="torch")
    assert restorer.run(np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)).shape == (1, 3, 16, 16)
