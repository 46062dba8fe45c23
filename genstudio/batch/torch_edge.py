"""The one place the folder pipeline meets torch: wrap a torch network so that it takes and returns numpy arrays.

The pipeline (`genstudio.batch.pipeline`, `genstudio.batch.tiles`) runs on numpy and Pillow, so a batch on
onnxruntime never imports torch. A processor whose work is a torch module converts at its edge, here: N x C x H x W
float32 arrays in, the same out, under `torch.no_grad()`. The array and the tensor share memory on the way in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    """An N x C x H x W float32 array as a CPU tensor sharing its memory."""
    return torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))


def to_array(result: torch.Tensor) -> np.ndarray:
    """A tensor (any device) as a float32 CPU array."""
    return result.detach().to("cpu").float().numpy()


def on_tensors(network: Callable[..., torch.Tensor]) -> Callable[..., np.ndarray]:
    """`network` (tensor in, tensor out) as a function of arrays; keyword arguments pass through unchanged."""

    def run(batch: np.ndarray, **extra: Any) -> np.ndarray:
        with torch.no_grad():
            return to_array(network(to_tensor(batch), **extra))

    return run
