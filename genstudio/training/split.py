"""A held-out validation split: the images a task asked to keep out of training, and scoring the model on them.

A task that sets `validation_fraction` (a float in (0, 1)) gets that share of the dataset held out. Which images
depends only on (seed, dataset size, fraction), through a generator of its own, so a resumed run holds out the
same images and reads the same training batches as the run it continues. At the end of training the runtime
calls the task's optional `evaluate(module, images, labels) -> {name: number}` on the held-out images; the result
goes into the saved model's metrics. Tasks without `validation_fraction` train on every image, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genstudio.errors import UserError

if TYPE_CHECKING:
    import torch

_SPLIT_SALT = 0x5EED_5A17  # keeps the split's permutation apart from the epochs' (see order.py)


def held_out_count(size: int, fraction: float) -> int:
    """How many of `size` images `fraction` holds out: at least 1 when fraction > 0, never all of them."""
    if not 0.0 <= fraction < 1.0:
        raise UserError(f"validation fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0:
        return 0
    count = max(1, round(size * fraction))
    if count >= size:
        raise UserError(f"holding out {fraction:g} of {size} image(s) would leave none to train on")
    return count


def split_indices(size: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, held-out indices), each sorted, from a permutation seeded by `seed` alone."""
    import torch

    count = held_out_count(size, fraction)
    generator = torch.Generator().manual_seed((seed + _SPLIT_SALT) % 2**63)
    permutation = torch.randperm(size, generator=generator)
    return permutation[count:].sort().values, permutation[:count].sort().values


class DatasetView:
    """Some items of a map-style dataset, in a given order; keeps `classes` and `report`, and slices in-memory
    `images` / `labels` tensors (ImageFolderDataset) so the runtime's fast batch path still applies."""

    def __init__(self, dataset: Any, indices: torch.Tensor):
        import torch

        self.dataset, self.indices = dataset, indices
        self.classes = getattr(dataset, "classes", None)
        self.report = getattr(dataset, "report", None)
        images, labels = getattr(dataset, "images", None), getattr(dataset, "labels", None)
        if isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor):
            self.images, self.labels = images[indices], labels[indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]


def split_dataset(dataset: Any, fraction: float, seed: int) -> tuple[DatasetView, DatasetView]:
    """(training view, held-out view) of `dataset`."""
    train, held_out = split_indices(len(dataset), fraction, seed)
    return DatasetView(dataset, train), DatasetView(dataset, held_out)


def evaluate_held_out(task: Any, module: torch.nn.Module, held_out: Any, seed: int,
                      device: torch.device) -> dict[str, Any]:
    """`task.evaluate` on every held-out image, in eval mode, without gradients and from an RNG seeded by `seed`
    (forked, so training's RNG streams are untouched). {} when there is nothing to evaluate."""
    import torch

    from genstudio.training.order import gather_batch
    from genstudio.training.task import HeldOutEvaluation

    if held_out is None or len(held_out) == 0 or not isinstance(task, HeldOutEvaluation):
        return {}
    evaluate = task.evaluate
    images, labels = gather_batch(held_out, torch.arange(len(held_out)))
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    was_training = module.training
    module.eval()
    try:
        with torch.random.fork_rng(devices=cuda_devices), torch.no_grad():
            torch.manual_seed(seed)
            metrics = evaluate(module, images, labels)
    finally:
        module.train(was_training)
    return {str(name): value if isinstance(value, int) else float(value) for name, value in metrics.items()}
