"""One training run's live state, and how it is set up: the task, its EMA copy, the step context, the position."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudio.backends import BackendSpec
from genstudio.errors import UserError
from genstudio.training.context import TrainContext, resolve_amp
from genstudio.training.distributed import World, broadcast_modules
from genstudio.training.ema import make_ema
from genstudio.training.options import FitOptions
from genstudio.training.order import DataOrder, describe_data
from genstudio.training.rng import seed_all
from genstudio.training.split import split_dataset
from genstudio.training.task import DataInfo, HeldOutEvaluation, TrainingTask

if TYPE_CHECKING:
    import torch


@dataclass
class Run:
    """Everything a training loop carries from step to step."""

    spec: BackendSpec
    config: dict[str, Any]  # resolved by the backend's schema
    dataset: Any  # what training reads: the whole dataset, or its part outside the held-out split
    out_dir: Path
    options: FitOptions
    world: World
    device: torch.device
    data: DataInfo
    task: TrainingTask
    ctx: TrainContext
    ema: torch.nn.Module | None  # the EMA copy of task.modules[task.ema_module]
    order: DataOrder
    total_steps: int
    step: int = 0  # steps done, over all runs of this training
    epoch: int = 0  # the data position of the next batch
    index: int = 0
    elapsed_before: float = 0.0  # seconds spent in earlier runs (before a resume)
    resumed_from: int | None = None
    channels_last: bool = False  # the networks (and so the batches) use the channels-last memory format
    held_out: Any = None  # the images kept out of training for the task's `evaluate` (split.py), or None
    extra: dict[str, Any] = field(default_factory=dict)  # the backend's model_extra(config), for model.json

    @property
    def live_ema_source(self) -> torch.nn.Module | None:
        name = self.task.ema_module
        return self.task.modules[name] if name is not None else None


def load_trainer(spec: BackendSpec) -> Any:
    """The backend's implementation, checked to be trainable (`spec.load` checks the declared create_training)."""
    if not spec.capabilities.trainable:
        raise UserError(f"backend {spec.id} is not trainable")
    return spec.load()


def model_extra(spec: BackendSpec, config: dict[str, Any]) -> dict[str, Any]:
    """What the backend records in model.json besides its weights (capability `records_extra`), else {}. Locating
    pretrained weights happens here, so calling it before reading the data makes a missing file an early error."""
    return dict(spec.load().model_extra(config)) if spec.capabilities.records_extra else {}


def build_run(spec: BackendSpec, config: dict[str, Any], dataset: Any, out_dir: Path, options: FitOptions,
              world: World, device: torch.device, log: Any, extra: dict[str, Any] | None = None) -> Run:
    """Seed, create the task, hold out its validation split (when it asks for one), share rank 0's initial
    weights, make the EMA copy and the step context."""
    import torch

    impl = load_trainer(spec)
    resolution, channels, size, classes = describe_data(dataset)
    data = DataInfo(resolution, channels, len(classes), classes, size)
    seed_all(options.seed + world.rank)
    task = impl.create_training(config, data, device)
    if not isinstance(task, TrainingTask):
        raise TypeError(f"backend {spec.id}: create_training returned {type(task).__name__}, not a TrainingTask")
    held_out = None
    fraction = float(task.validation_fraction or 0.0) if isinstance(task, HeldOutEvaluation) else 0.0
    if fraction > 0:  # the split depends on the seed alone: the same after a resume
        dataset, held_out = split_dataset(dataset, fraction, options.seed)
        size = len(dataset)
        data = replace(data, size=size)
        log(f"holding out {len(held_out)} image(s) for validation; training on {size}")
    batch_size = options.batch_size
    if batch_size * world.world_size > size:
        batch_size = max(1, size // world.world_size)
        log(f"batch size {options.batch_size} is larger than the {size} training images; using {batch_size}")
    order = DataOrder(size, batch_size, options.seed, world.rank, world.world_size)
    total = options.steps if options.steps is not None else options.epochs * order.batches_per_epoch
    channels_last = False
    for module in task.modules.values():
        module.to(device)
        if _use_channels_last(options.channels_last, device, module):
            module.to(memory_format=torch.channels_last)
            channels_last = True
    broadcast_modules(world, task.modules.values())
    ema = None
    if options.ema_decay > 0 and task.ema_module is not None:
        ema = make_ema(task.modules[task.ema_module])
    ctx = TrainContext(task.optimizers, device, resolve_amp(options.amp, device), options.grad_clip, world)
    return Run(spec, config, dataset, out_dir, options, world, device, data, task, ctx, ema, order, total,
               channels_last=channels_last, held_out=held_out,
               extra=model_extra(spec, config) if extra is None else dict(extra))


def _use_channels_last(setting: bool | str, device: torch.device, module: torch.nn.Module) -> bool:
    import torch

    if setting in (True, "on"):
        return True
    if setting in (False, "off"):
        return False
    return device.type == "cuda" and any(isinstance(layer, torch.nn.Conv2d) for layer in module.modules())


def run_device(name: str, world: World) -> torch.device:
    """The device to train on; under torchrun each CUDA process takes the GPU of its local rank."""
    import torch

    from genstudio.devices import resolve_device

    device = resolve_device(name)
    if world.active and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    return device


@contextlib.contextmanager
def determinism(enabled: bool, device: torch.device) -> Iterator[None]:
    """Deterministic kernels while training when `enabled` (else cuDNN autotuning on CUDA); restored after."""
    import torch

    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              cudnn.deterministic, cudnn.benchmark)
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS (CUDA >= 10.2)
        torch.use_deterministic_algorithms(True, warn_only=True)  # an op without one warns, it does not stop
        cudnn.deterministic, cudnn.benchmark = True, False
    elif device.type == "cuda":
        cudnn.benchmark = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark = before[2], before[3]
