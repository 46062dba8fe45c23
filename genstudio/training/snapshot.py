"""A run's complete state as one nested dict (for checkpoints), and putting it back for an exact resume."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from genstudio.errors import ModelFileError, UserError
from genstudio.training.checkpoints import list_checkpoints, load_checkpoint
from genstudio.training.rng import capture_rng, restore_rng, seed_all
from genstudio.training.run import Run


def capture(run: Run, elapsed: float) -> dict[str, Any]:
    """Weights, EMA, optimizer and scaler states, RNG states, data position, step, time and config."""
    return {
        "step": run.step,
        "epoch": run.epoch,
        "index": run.index,
        "elapsed": elapsed,
        "backend": run.spec.id,
        "config": dict(run.config),
        "seed": run.options.seed,
        "batch_size": run.order.batch_size,
        "world_size": run.world.world_size,
        "modules": {name: dict(module.state_dict()) for name, module in run.task.modules.items()},
        "ema": dict(run.ema.state_dict()) if run.ema is not None else None,
        "optimizers": {name: optimizer.state_dict() for name, optimizer in run.task.optimizers.items()},
        "scalers": run.ctx.scaler_states(),
        "rng": capture_rng(),
    }


def restore(run: Run, state: dict[str, Any]) -> None:
    """Load `state` (from `capture`, through a checkpoint) into `run`."""
    if state.get("backend") != run.spec.id:
        raise UserError(f"the checkpoint in {run.out_dir} is from backend {state.get('backend')}, not {run.spec.id}")
    changed = sorted(key for key in set(state["config"]) | set(run.config)
                     if state["config"].get(key) != run.config.get(key))
    if changed:
        raise UserError(f"cannot resume {run.out_dir} with a different config ({', '.join(changed)} changed); "
                        "use the config it was started with or choose another folder")
    for name, module in run.task.modules.items():
        module.load_state_dict(state["modules"][name])
    if run.ema is not None and state.get("ema") is not None:
        run.ema.load_state_dict(state["ema"])
    for name, optimizer in run.task.optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    run.ctx.load_scaler_states(state.get("scalers") or {})
    if run.world.rank == 0 and state.get("world_size", 1) == run.world.world_size:
        restore_rng(state["rng"])
    else:  # only rank 0's generators are saved; the others start fresh streams for this step
        seed_all(run.options.seed + run.world.rank + 1_000_003 * state["step"])
    run.step, run.epoch, run.index = state["step"], state["epoch"], state["index"]
    run.elapsed_before = float(state.get("elapsed", 0.0))
    run.resumed_from = run.step
    if run.epoch * run.order.batches_per_epoch + run.index != run.step:
        run.epoch, run.index = divmod(run.step, run.order.batches_per_epoch)  # the batch size changed


def newest_state(out_dir: Path, log: Callable[..., None]) -> dict[str, Any] | None:
    """The state of the newest checkpoint that loads; damaged ones are reported and passed over."""
    for _, folder in reversed(list_checkpoints(out_dir)):
        try:
            return load_checkpoint(folder)
        except ModelFileError as exc:
            log(f"skipping checkpoint: {exc}", "warning")
    return None
