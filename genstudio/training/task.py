"""The contract between the training runtime and a trainable backend.

A trainable backend's implementation (what `BackendSpec.load()` returns) provides, besides `build(config)`:

    create_training(config, data, device) -> TrainingTask

`data` is a `DataInfo` (what the runtime knows about the dataset); `device` the torch.device to train on. The
runtime (`genstudio.training.fit`) owns everything that is the same for every backend: the data order, mixed
precision, gradient scaling and clipping, the EMA copy, sample grids, checkpoints, exact resume, the metrics log,
DDP and progress. The task owns only what is specific to the model: its networks, its optimizers, and one
training step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DataInfo:
    """What a task needs to know about the training images."""

    resolution: int  # images are square, resolution x resolution
    channels: int  # 1 (grayscale) or 3 (RGB)
    num_classes: int  # 0 when the folder has no class subfolders
    class_names: tuple[str, ...] = ()
    size: int = 0  # number of training images

    def check_config(self, backend: str, config: dict[str, Any], conditional: bool = False) -> None:
        """UserError (one line) when `config` does not describe these images: resolution, channels and, for a
        conditional backend, the number of classes (at least 2)."""
        from genstudio.errors import UserError

        if "resolution" in config and self.resolution != config["resolution"]:
            raise UserError(f"{backend}: the images are {self.resolution} x {self.resolution} but the config says "
                            f"resolution={config['resolution']}")
        if "channels" in config and self.channels != config["channels"]:
            raise UserError(f"{backend}: the images have {self.channels} channel(s) but the config says "
                            f"channels={config['channels']} (set channels={self.channels})")
        if not conditional:
            return
        if self.num_classes < 2:
            raise UserError(f"{backend} needs a dataset with at least 2 class subfolders; this one has "
                            f"{self.num_classes}")
        if self.num_classes != config["num_classes"]:
            raise UserError(f"{backend}: the dataset has {self.num_classes} classes but the config says "
                            f"num_classes={config['num_classes']} (set num_classes={self.num_classes})")


@runtime_checkable
class StepContext(Protocol):
    """Handed to every `train_step`: the runtime's mixed-precision and optimizer plumbing.

    A step computes its losses inside `with ctx.autocast():` and updates through `ctx.backward_and_step`, which
    scales the loss (fp16), clips gradients (when configured) and steps the optimizer, so every backend gets AMP,
    clipping and DDP gradient sync without writing them.
    """

    step: int  # the global step being computed, from 0
    device: torch.device

    def autocast(self) -> Any: ...  # a context manager: bf16/fp16 autocast on CUDA, a no-op on CPU

    def backward_and_step(self, loss: torch.Tensor, optimizer_name: str, *, retain_graph: bool = False) -> None: ...


@runtime_checkable
class TrainingTask(Protocol):
    """One backend's training state and step, created by the backend's `create_training`."""

    modules: dict[str, torch.nn.Module]  # every network with weights, by name: {"G": ..., "D": ...}
    optimizers: dict[str, torch.optim.Optimizer]  # by name: {"G": ..., "D": ...}
    ema_module: str | None  # the module to keep an exponential moving average of ("G"), or None

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        """One optimisation step on `batch` = (images N x C x H x W in [0, 1], labels N int64) already on the
        device. Returns the losses and other scalars to log, as plain floats."""
        ...

    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """`count` images in [0, 1] from `module` (the EMA copy when there is one) for the sample grid; must be
        deterministic given `generator` so successive grids show the same latents."""
        ...

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        """The module whose state_dict is saved as the trained model: what the backend's `build(config)`
        builds (usually the EMA generator when `ema` is given, else the live one)."""
        ...

    # Optional: a task that also follows `HeldOutEvaluation` (below) gets a validation split.


@runtime_checkable
class HeldOutEvaluation(Protocol):
    """Optional part of a TrainingTask (checked when the task is created): hold images out and score them.

    validation_fraction: a share in [0, 1) of the dataset held out of training, chosen by the seed alone
    (split.py); 0 holds none out. evaluate(module, images, labels) -> dict[str, float] is called once at the end
    (also after a cancel) on the held-out images (float N x C x H x W in [0, 1] and int64 labels, on the CPU)
    with `model_module(ema)` in eval mode, under no_grad, from a seeded RNG; the result is stored in model.json's
    metrics and in TrainingSummary.metrics. A task without both trains on every image."""

    validation_fraction: float

    def evaluate(self, module: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]: ...


@dataclass
class TrainingSummary:
    """What `fit` returns and `genstudio train --json` prints."""

    model_dir: str
    steps: int  # the global step reached
    seconds: float  # wall time of this run (not counting earlier runs before a resume)
    images_per_second: float
    final_losses: dict[str, float] = field(default_factory=dict)
    resumed_from: int | None = None  # the step a resumed run started at
    cancelled: bool = False
    device: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # the task's held-out evaluation, also in model.json

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
