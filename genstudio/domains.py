"""Two-domain training data (unpaired image-to-image translation): domain A's and domain B's images, read from two
folders (`--data A --data-b B`) or from one folder's subfolders `A/` and `B/` (also `trainA/` and `trainB/`, the
layout of the CycleGAN datasets).

A backend trains on two domains when its config schema has a `data_b` field (the path option `--data-b`). The
runtime reads batches of (image, label) rows, so `UnpairedDataset` gives it rows of 6 channels, domain A's image
on channels 0-2 and an unrelated domain B image on 3-5: row i holds A[i mod |A|] and B[p(i) mod |B|], p a fixed
seeded permutation; there are max(|A|, |B|) rows, so every image of both folders is used once per epoch. Each
folder is decoded (and cached, with its bad-file report) by `genstudio.data.ImageFolderDataset`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink

DOMAIN_FIELD = "data_b"  # the config field (and --data-b option) that marks a two-domain backend
SUBFOLDERS = (("A", "B"), ("trainA", "trainB"))
PAIRING_SEED = 0x5EED


def two_domains(spec: Any) -> bool:
    """Whether `spec`'s backend trains on two domains."""
    return DOMAIN_FIELD in spec.schema


def domain_folders(data: str | os.PathLike[str], data_b: str | os.PathLike[str] | None) -> tuple[Path, Path]:
    """(A, B) folders: `data` and `data_b`, or `data`'s subfolders A/ and B/ (trainA/ and trainB/)."""
    from genstudio.data import existing_folder

    root = existing_folder(data)
    if data_b not in (None, ""):
        return root, existing_folder(data_b)
    for a, b in SUBFOLDERS:
        if (root / a).is_dir() and (root / b).is_dir():
            return root / a, root / b
    raise UserError(f"{root} has no subfolders A/ and B/: give domain B's folder with --data-b")


@dataclass
class DomainsReport:
    """Both folders' reports (genstudio.data.DataReport), shown to the user and kept in model.json."""

    a: Any
    b: Any

    @property
    def skipped(self) -> list:
        return [*self.a.skipped, *self.b.skipped]

    def summary(self) -> str:
        return f"A: {self.a.summary()}; B: {self.b.summary()}"

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.to_dict(), "b": self.b.to_dict()}


class UnpairedDataset:
    """Rows of (A image, B image) stacked into 6 channels, uint8 in `images` (what the runtime slices)."""

    classes: list[str] = []

    def __init__(self, folder_a: Path, folder_b: Path, resolution: int, *, progress: EventSink | None = None,
                 abort: AbortCheck | None = None):
        import torch

        from genstudio.data import ImageFolderDataset

        a = ImageFolderDataset(folder_a, resolution, 3, progress=progress, abort=abort)
        b = ImageFolderDataset(folder_b, resolution, 3, progress=progress, abort=abort)
        rows = max(len(a.images), len(b.images))
        order = torch.randperm(rows, generator=torch.Generator().manual_seed(PAIRING_SEED))
        index_a = torch.arange(rows) % len(a.images)
        index_b = order % len(b.images)
        self.images = torch.cat([a.images[index_a], b.images[index_b]], dim=1)  # N x 6 x R x R uint8
        self.labels = torch.zeros(rows, dtype=torch.long)
        self.report = DomainsReport(a.report, b.report)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.images[index].float() / 255, 0
