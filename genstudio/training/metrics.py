"""The metrics log: one JSON object per line in OUT/metrics.jsonl, mirrored to TensorBoard when it is installed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from genstudio.fileio import atomic_write_bytes, open_append

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


def read_metrics(out_dir: str | Path) -> list[dict[str, Any]]:
    """Every record of OUT/metrics.jsonl (a torn last line, from a killed run, is skipped)."""
    path = Path(out_dir) / METRICS_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


class MetricsLog:
    """Appends records; on resume it first drops the records after the step the run restarts from."""

    def __init__(self, out_dir: str | Path, start_step: int, tensorboard: bool = True):
        self.path = Path(out_dir) / METRICS_FILE
        kept = [record for record in read_metrics(out_dir) if record.get("step", math.inf) <= start_step]
        atomic_write_bytes(self.path, "".join(json.dumps(record) + "\n" for record in kept).encode("utf-8"))
        self._file = open_append(self.path)  # closed in close()
        self._writer = _tensorboard_writer(Path(out_dir) / TENSORBOARD_DIR, start_step) if tensorboard else None

    def write(self, record: dict[str, Any]) -> None:
        """`record` holds "step" and numbers (flat, or one level of dicts such as {"lr": {"G": 2e-4}})."""
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._writer is not None:
            for name, value in _scalars(record):
                self._writer.add_scalar(name, value, record["step"])

    def close(self) -> None:
        self._file.close()
        if self._writer is not None:
            self._writer.close()


def _scalars(record: dict[str, Any]) -> list[tuple[str, float]]:
    found = []
    for key, value in record.items():
        if key == "step":
            continue
        if isinstance(value, dict):
            found += [(f"{key}/{inner}", float(item)) for inner, item in value.items()
                      if isinstance(item, (int, float))]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append((key, float(value)))
    return found


def _tensorboard_writer(folder: Path, start_step: int) -> Any:
    """A SummaryWriter, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(folder), purge_step=start_step or None)
