"""Tiny stylegan2 runs shared by the tests (and the killed subprocess): an in-memory 8 px dataset and the settings.

8 px has two synthesis blocks (4 and 8 px), four style layers. With batch 4, R1 runs at steps 0 and 16, path length
at every 4th step and ADA adjusts p every 4 steps; `augment=ada` with a fast speed so p visibly moves.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

RESOLUTION, STEPS = 8, 20
CONFIG = {"resolution": RESOLUTION, "channels": 1, "latent_dim": 4, "w_dim": 4, "mapping_layers": 2,
          "channel_base": 32, "channel_max": 4, "augment": "ada", "ada_images": 64, "r1_interval": 8,
          "pl_weight": 2.0}  # path length is off by default: these runs check its schedule and its resume
OPTIONS = {"device": "cpu", "deterministic": True, "batch_size": 4, "sample_count": 4, "sample_every": 10,
           "log_every": 1, "checkpoint_every": 100, "seed": 5}


class Report:
    def to_dict(self) -> dict:
        return {"root": "memory", "loaded": 16}


class BlobDataset:
    """16 grey 8 x 8 images of one soft blob each, in two classes (left / right), as ImageFolderDataset holds them."""

    def __init__(self, count: int = 16, seed: int = 11):
        generator = torch.Generator().manual_seed(seed)
        grid = torch.linspace(-1, 1, RESOLUTION)
        y, x = torch.meshgrid(grid, grid, indexing="ij")
        centres = torch.rand(count, 2, generator=generator) - 0.5
        blobs = torch.exp(-((x - centres[:, :1, None]) ** 2 + (y - centres[:, 1:, None]) ** 2) / 0.1)
        self.images = (blobs[:, None] * 255).round().to(torch.uint8)  # N x 1 x 8 x 8
        self.labels = (centres[:, 0] > 0).long()
        self.classes = ["left", "right"]
        self.report = Report()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index].float() / 255.0, int(self.labels[index])


def stylegan2_spec():
    from genstudio.plugins import get_registry

    return get_registry().backend("stylegan2")


def train(out: Path, steps: int = STEPS, config: dict | None = None, **options):
    from genstudio.training import fit

    return fit(stylegan2_spec(), {**CONFIG, **(config or {})}, BlobDataset(), out, steps=steps,
               **{**OPTIONS, **options})


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
