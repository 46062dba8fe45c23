"""The step context: precision choice, loss scaling state, clipping; and the EMA update."""

from __future__ import annotations

import pytest
import torch

from genstudio.errors import UserError
from genstudio.training.context import TrainContext, resolve_amp
from genstudio.training.ema import make_ema, update_ema
from genstudio.training.task import StepContext

from .toy_setup import ToyDataset, toy_spec


def test_cpu_always_trains_in_fp32():
    for mode in ("auto", "off", "bf16", "fp16"):
        assert resolve_amp(mode, torch.device("cpu")) is None
    with pytest.raises(UserError, match="amp"):
        resolve_amp("fp8", torch.device("cpu"))


def test_fp16_scaler_clipping_and_scaler_state_round_trip():
    from genstudio.training.state import flatten_state, unflatten_state

    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ctx = TrainContext({"m": optimizer}, torch.device("cpu"), torch.float16, grad_clip=1e-3)  # scaler enabled
    assert isinstance(ctx, StepContext)
    before = model.weight.detach().clone()
    with ctx.autocast():
        loss = model(torch.full((2, 4), 100.0)).float().pow(2).mean()
    ctx.backward_and_step(loss, "m")  # the scaled fp16 gradients overflow: the step is skipped, the scale halves
    assert torch.equal(before, model.weight) and ctx.scaler_states()["m"]["scale"] == 2.0**15
    with ctx.autocast():
        loss = model(torch.full((2, 4), 0.01)).float().pow(2).mean()
    ctx.backward_and_step(loss, "m")
    assert torch.linalg.vector_norm(model.weight.grad) <= 1e-3 + 1e-6  # unscaled, then clipped
    assert not torch.equal(before, model.weight)
    states = ctx.scaler_states()
    restored = TrainContext({"m": optimizer}, torch.device("cpu"), torch.float16)
    restored.load_scaler_states(unflatten_state(*flatten_state(states)))
    assert restored.scaler_states() == states
    with pytest.raises(KeyError, match="no optimizer 'x'"):
        ctx.backward_and_step(loss, "x")


def test_ema_moves_towards_the_live_weights():
    live = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = make_ema(live)
    assert not ema.training and not any(p.requires_grad for p in ema.parameters())
    with torch.no_grad():
        live[0].weight.add_(1.0)
        live[1].running_mean.fill_(3.0)
    old = ema[0].weight.clone()
    update_ema(ema, live, decay=0.75)
    assert torch.allclose(ema[0].weight, old + 0.25)
    assert torch.equal(ema[1].running_mean, live[1].running_mean)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_mixed_precision_run(tmp_path, amp):
    from genstudio.training import fit

    summary = fit(toy_spec(), {}, ToyDataset(), tmp_path / "run", steps=3, device="cuda", amp=amp, batch_size=8,
                  sample_count=4, grad_clip=1.0)
    assert summary.steps == 3 and all(value == value for value in summary.final_losses.values())


def test_ema_warm_up_follows_the_live_weights_early_on():
    from genstudio.training.ema import warmed_decay

    assert warmed_decay(0.999, 0) == pytest.approx(0.1)
    assert warmed_decay(0.999, 200) == pytest.approx(201 / 210)
    assert warmed_decay(0.999, 100_000) == 0.999
    live = torch.nn.Linear(2, 2)
    ema = make_ema(live)
    with torch.no_grad():
        live.weight.add_(1.0)
    update_ema(ema, live, decay=0.999, step=0)
    assert torch.allclose(ema.weight, live.weight - 0.1)  # 90% of the way there on the first step
