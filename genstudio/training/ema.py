"""The exponential moving average of a network's weights, the copy that samples and saved models use.

Averaging generator weights over training steps gives visibly better samples (Karras et al. 2018, "Progressive
Growing of GANs", section 5; Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training").
After every step: ema = decay * ema + (1 - decay) * live, and buffers (e.g. batch-norm statistics) are copied.

The decay warms up as min(decay, (1 + t) / (10 + t)) at step t (the num_updates rule of TensorFlow's
ExponentialMovingAverage): without it a short run's average would still be mostly the random initial weights
(0.999 ** 200 = 0.82 after 200 steps), and the saved model would draw noise.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def make_ema(module: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of `module` in eval mode."""
    ema = copy.deepcopy(module).eval()
    ema.requires_grad_(False)
    return ema


def warmed_decay(decay: float, step: int) -> float:
    """The decay to use after `step` updates: small at first, `decay` in the long run."""
    return min(decay, (1.0 + step) / (10.0 + step))


def update_ema(ema: torch.nn.Module, live: torch.nn.Module, decay: float, step: int | None = None) -> None:
    """Move `ema` one step towards `live`; with `step`, the decay is warmed up (see the module docstring)."""
    import torch

    if step is not None:
        decay = warmed_decay(decay, step)
    with torch.no_grad():
        for averaged, current in zip(ema.parameters(), live.parameters(), strict=True):
            averaged.lerp_(current.detach(), 1.0 - decay)
        for averaged, current in zip(ema.buffers(), live.buffers(), strict=True):
            averaged.copy_(current)
