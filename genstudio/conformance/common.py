"""What the conformance checks share: the report, the two outcomes a check raises, and the output checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TOLERANCE = 1e-3  # how far outside [0, 1] an output value may stray (float noise of a sigmoid or a tanh * 0.5)
REPEAT_TOLERANCE = 1e-5  # the same inputs twice
BATCH_TOLERANCE = 1e-4  # alone against in a batch (convolution algorithms differ by batch size)
PARITY_LEVELS = 2  # ONNX against torch images, in 1/255 steps


@dataclass
class Check:
    name: str
    status: str  # "pass" | "fail" | "skip"
    detail: str = ""
    seconds: float = 0.0


@dataclass
class CheckReport:
    backend: str
    plugin: str
    kind: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


class Skip(Exception):
    """A check that does not apply; its message says why."""


class Fail(Exception):
    """A check that failed; its message is the line shown."""


def check_images(out: Any, batch: int, *, size: tuple[int, int] | None = None, what: str = "output") -> np.ndarray:
    """`out` (a tensor or an array) as a float array, after the shape check; Fail with one line otherwise."""
    if hasattr(out, "detach"):
        out = out.detach().to("cpu").float().numpy()
    if not isinstance(out, np.ndarray):
        raise Fail(f"{what} is a {type(out).__name__}, not an N x C x H x W tensor")
    if out.ndim == 3:  # a stylizer may return 3 x H x W for one image
        out = out[None]
    if out.ndim != 4 or out.shape[0] != batch or out.shape[1] not in (1, 3, 4):
        raise Fail(f"{what} has shape {tuple(out.shape)}, expected {batch} x C x H x W with C 1, 3 or 4 "
                    "(channels first, as tensors are; not H x W x C as PIL images are)")
    if size is not None and tuple(out.shape[2:]) != tuple(size):
        raise Fail(f"{what} is {out.shape[2]} x {out.shape[3]} for a {size[0]} x {size[1]} input, but the "
                    "backend declares tile_safe (size-preserving); declare tile_safe=False")
    return out.astype(np.float32)


def check_range(out: np.ndarray, what: str = "output") -> str:
    if not np.isfinite(out).all():
        raise Fail(f"{what} holds NaN or Inf values")
    low, high = float(out.min()), float(out.max())
    if low < -TOLERANCE or high > 1 + TOLERANCE:
        raise Fail(f"{what} spans {low:.3g} .. {high:.3g}; images must be in [0, 1] (not [-1, 1] or 0..255)")
    return f"{low:.3f} .. {high:.3f}"


def check_same(first: np.ndarray, second: np.ndarray, tolerance: float, what: str) -> str:
    if first.shape != second.shape:
        raise Fail(f"{what}: shapes {tuple(first.shape)} and {tuple(second.shape)} differ")
    worst = float(np.abs(first - second).max()) if first.size else 0.0
    if not worst <= tolerance:
        raise Fail(f"{what}: outputs differ by up to {worst:.3g} (more than {tolerance:g})")
    return f"max difference {worst:.2g}"


def scratch(state: dict[str, Any], name: str) -> Path:
    path = Path(state["work"]) / name
    path.mkdir(parents=True, exist_ok=True)
    return path
