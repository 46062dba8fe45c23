"""The runtime's `StepContext`: mixed precision, loss scaling, gradient clipping and gradient averaging.

A task computes losses inside `ctx.autocast()` and hands each one to `ctx.backward_and_step(loss, "G")`, which
clears that optimizer's gradients, back-propagates the (scaled) loss, averages gradients over processes,
unscales and clips them when asked, and steps the optimizer through its GradScaler.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from genstudio.errors import UserError
from genstudio.training.distributed import World, average_gradients

if TYPE_CHECKING:
    import torch

AMP_CHOICES = ("auto", "off", "bf16", "fp16")


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `amp` on `device`, or None for full fp32 (always on the CPU and MPS)."""
    import torch

    if amp not in AMP_CHOICES:
        raise UserError(f"unknown amp mode {amp!r}; use one of {', '.join(AMP_CHOICES)}")
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


class TrainContext:
    """Implements genstudio.training.task.StepContext for one run."""

    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        device: torch.device,
        amp_dtype: torch.dtype | None,  # None: fp32
        grad_clip: float | None = None,  # max gradient norm per optimizer, None = no clipping
        world: World | None = None,  # the processes gradients are averaged over
    ):
        import torch

        self.step = 0
        self.device = device
        self.optimizers = optimizers
        self.amp_dtype = amp_dtype
        self.grad_clip = grad_clip
        self.world = world or World()
        scaling = amp_dtype == torch.float16  # bf16 has fp32's range: no loss scaling
        self.scalers = {name: torch.amp.GradScaler(device.type, enabled=scaling) for name in optimizers}

    def autocast(self) -> Any:
        import torch

        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def backward_and_step(self, loss: torch.Tensor, optimizer_name: str, *, retain_graph: bool = False) -> None:
        import torch

        try:
            optimizer = self.optimizers[optimizer_name]
        except KeyError:
            raise KeyError(f"no optimizer {optimizer_name!r}; the task has {sorted(self.optimizers)}") from None
        scaler = self.scalers[optimizer_name]
        params = [param for group in optimizer.param_groups for param in group["params"]]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward(retain_graph=retain_graph)
        average_gradients(self.world, params)
        if self.grad_clip is not None:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        scaler.step(optimizer)
        scaler.update()

    def scaler_states(self) -> dict[str, dict[str, Any]]:
        return {name: scaler.state_dict() for name, scaler in self.scalers.items()}

    def load_scaler_states(self, states: dict[str, dict[str, Any]]) -> None:
        for name, scaler in self.scalers.items():
            if states.get(name):
                scaler.load_state_dict(states[name])
