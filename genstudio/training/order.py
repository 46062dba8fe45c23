"""The order training sees the images in: a seeded permutation per epoch, cut into full batches.

The permutation of epoch `e` depends only on (seed, e), so a position (epoch, batch index) fixes every batch
that follows: a resumed run reads exactly the batches the uninterrupted run would have. With several processes
each takes its share of the permutation, as `torch.utils.data.DistributedSampler` does: the permutation is cut
to a whole number of global batches and rank r takes indices[r::world_size].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genstudio.errors import UserError

if TYPE_CHECKING:
    import torch

_EPOCH_STRIDE = 0x9E3779B97F4A7C15  # spreads epochs apart in seed space (golden-ratio constant)


@dataclass(frozen=True)
class DataOrder:
    """Which dataset indices make up batch `index` of epoch `epoch` on this rank."""

    size: int  # images in the dataset
    batch_size: int  # images per batch on one rank
    seed: int
    rank: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        if self.batches_per_epoch < 1:
            raise UserError(f"batch size {self.batch_size} x {self.world_size} process(es) is larger than the "
                            f"{self.size} training images")

    @property
    def batches_per_epoch(self) -> int:
        return self.size // (self.batch_size * self.world_size)  # drop_last

    def permutation(self, epoch: int) -> torch.Tensor:
        import torch

        generator = torch.Generator().manual_seed((self.seed + epoch * _EPOCH_STRIDE) % 2**63)
        return torch.randperm(self.size, generator=generator)

    def batch(self, epoch: int, index: int) -> torch.Tensor:
        """The dataset indices (int64) of one batch; `index` < batches_per_epoch."""
        usable = self.batches_per_epoch * self.batch_size * self.world_size
        share = self.permutation(epoch)[:usable][self.rank :: self.world_size]
        return share[index * self.batch_size : (index + 1) * self.batch_size]

    def advance(self, epoch: int, index: int) -> tuple[int, int]:
        """The position after (epoch, index)."""
        index += 1
        return (epoch + 1, 0) if index >= self.batches_per_epoch else (epoch, index)


def gather_batch(dataset: Any, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(images N x C x H x W float in [0, 1], labels N int64) on the CPU.

    In-memory datasets with uint8 `images` and int64 `labels` tensors (ImageFolderDataset) are sliced directly;
    any other map-style dataset is read item by item.
    """
    import torch

    images = getattr(dataset, "images", None)
    labels = getattr(dataset, "labels", None)
    if isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and isinstance(labels, torch.Tensor):
        return images[indices].float().div_(255.0), labels[indices].long()
    items = [dataset[int(i)] for i in indices]
    return torch.stack([image for image, _ in items]).float(), torch.tensor([int(label) for _, label in items])


def describe_data(dataset: Any) -> tuple[int, int, int, tuple[str, ...]]:
    """(resolution, channels, size, class names) of a dataset; UserError when it is empty or not square."""
    size = len(dataset)
    if size == 0:
        raise UserError("the training dataset holds no images")
    images = getattr(dataset, "images", None)
    shape = tuple(images.shape[1:]) if images is not None and hasattr(images, "shape") else tuple(dataset[0][0].shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"training images must be square C x R x R tensors, got shape {shape}")
    classes = tuple(str(name) for name in (getattr(dataset, "classes", None) or ()))
    return int(shape[1]), int(shape[0]), size, classes
