"""Qt-free reader of a training run's metrics.jsonl that follows the file as it grows (the training view polls it).

Each line is one JSON object (step, loss_d, loss_g, images_per_s, lr, elapsed, ...). `poll()` reads only what was
appended since the last call; a torn last line (a run writing or killed mid-line) waits for the next poll.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
_NOT_PLOTTED = {"step", "elapsed", "epoch"}  # numbers that are axes or clocks, not curves


class MetricsLog:
    """The records of `path` (a metrics.jsonl file or the run folder holding one)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        self.path = path / METRICS_FILE if path.is_dir() or path.suffix != ".jsonl" else path
        self.rows: list[dict[str, Any]] = []
        self._offset = 0
        self._size = -1

    def poll(self) -> bool:
        """Read new complete lines; True when rows were added (or the file was replaced and re-read)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return False
        if size == self._size:
            return False
        if size < self._offset:  # rewritten (a new run into the same folder): start over
            self.rows, self._offset = [], 0
        with open(self.path, "rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        end = chunk.rfind(b"\n") + 1  # only complete lines
        added = 0
        for line in chunk[:end].splitlines():
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict):
                self.rows.append(record)
                added += 1
        self._offset += end
        self._size = self._offset if end < len(chunk) else size
        return added > 0

    def keys(self) -> list[str]:
        """Numeric fields worth plotting, in first-seen order."""
        seen: dict[str, None] = {}
        for row in self.rows:
            for key, value in row.items():
                if key not in _NOT_PLOTTED and _number(value) is not None:
                    seen.setdefault(key, None)
        return list(seen)

    def loss_keys(self) -> list[str]:
        """The loss curves (fields with "loss" in their name); all numeric fields when there are none."""
        keys = self.keys()
        losses = [key for key in keys if "loss" in key]
        return losses or [key for key in keys if key not in ("images_per_s", "images_per_second")]

    def series(self, key: str) -> list[tuple[float, float]]:
        """(step, value) points of one field; rows without a step count from 1."""
        points = []
        for number, row in enumerate(self.rows, start=1):
            value = _number(row.get(key))
            if value is not None:
                step = _number(row.get("step"))
                points.append((step if step is not None else float(number), value))
        return points

    def latest(self) -> dict[str, Any]:
        return self.rows[-1] if self.rows else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None
