"""Running averages of a step's scalars between log records, throughput and wall time of this run."""

from __future__ import annotations

import time
from typing import Any


class Meter:
    """Collects each step's losses; `record` turns the window since the last record into one metrics record."""

    def __init__(self, optimizers: dict[str, Any]):
        self.optimizers = optimizers
        self.start = time.perf_counter()
        self.images = 0  # images trained on in this run, over all processes
        self.last: dict[str, float] = {}  # the newest step's scalars
        self.sampled_at: int | None = None  # the step of the newest sample grid
        self._sums: dict[str, float] = {}
        self._steps = 0
        self._window_images = 0
        self._window_start = self.start

    def add(self, scalars: dict[str, float], images: int) -> None:
        self.last = {name: float(value) for name, value in scalars.items()}
        for name, value in self.last.items():
            self._sums[name] = self._sums.get(name, 0.0) + value
        self._steps += 1
        self.images += images
        self._window_images += images

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def record(self, step: int, elapsed_before: float) -> dict[str, Any]:
        """{step, mean of each scalar over the window, images_per_s, lr per optimizer, elapsed}; resets the window."""
        now = time.perf_counter()
        window = max(now - self._window_start, 1e-9)
        record: dict[str, Any] = {"step": step}
        record.update({name: total / max(self._steps, 1) for name, total in self._sums.items()})
        record["images_per_s"] = self._window_images / window
        record["lr"] = {name: float(opt.param_groups[0]["lr"]) for name, opt in self.optimizers.items()}
        record["elapsed"] = elapsed_before + (now - self.start)
        self._sums, self._steps, self._window_images, self._window_start = {}, 0, 0, now
        return record
