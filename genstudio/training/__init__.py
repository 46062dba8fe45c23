"""The training runtime: `fit(spec, config, dataset, out_dir, ...)` and the contract trainable backends follow.

Importing this package is cheap (no torch): `fit` and its modules load on first use.
"""

from __future__ import annotations

from typing import Any

from genstudio.training.task import DataInfo, StepContext, TrainingSummary, TrainingTask

__all__ = ["DataInfo", "StepContext", "TrainingSummary", "TrainingTask", "fit"]


def __getattr__(name: str) -> Any:
    if name == "fit":
        from genstudio.training.loop import fit

        return fit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
