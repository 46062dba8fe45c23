"""Tiny progan runs shared by the tests (and the killed subprocess): a 16 px in-memory dataset and the settings.

16 px has three stages (4, 8, 16). 32 images per stage at batch 8 give 4 steps per stage, the first 2 of stages 1
and 2 fading in: stage 1 starts at step 4 (alpha 0, 0.5), stage 2 at step 8 (alpha 0, 0.5); 12 steps in all.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

RESOLUTION, STEPS = 16, 12
CONFIG = {"resolution": RESOLUTION, "channels": 1, "latent_dim": 8, "ngf": 8, "ndf": 8, "stage_images": 32,
          "fade_fraction": 0.5}
OPTIONS = {"device": "cpu", "deterministic": True, "batch_size": 8, "sample_count": 4, "sample_every": 2,
           "log_every": 1, "checkpoint_every": 100, "seed": 3}


class Report:
    def to_dict(self) -> dict:
        return {"root": "memory", "loaded": 32}


class BlobDataset:
    """32 grey 16 x 16 images of one soft blob each, held as ImageFolderDataset holds its images."""

    def __init__(self, count: int = 32, seed: int = 11):
        generator = torch.Generator().manual_seed(seed)
        grid = torch.linspace(-1, 1, RESOLUTION)
        y, x = torch.meshgrid(grid, grid, indexing="ij")
        centres = torch.rand(count, 2, generator=generator) - 0.5
        blobs = torch.exp(-((x - centres[:, :1, None]) ** 2 + (y - centres[:, 1:, None]) ** 2) / 0.1)
        self.images = (blobs[:, None] * 255).round().to(torch.uint8)  # N x 1 x 16 x 16
        self.labels = torch.zeros(count, dtype=torch.int64)
        self.classes: list[str] = []
        self.report = Report()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index].float() / 255.0, int(self.labels[index])


def progan_spec():
    from genstudio.plugins import get_registry

    return get_registry().backend("progan")


def train(out: Path, steps: int = STEPS, config: dict | None = None, **options):
    from genstudio.training import fit

    return fit(progan_spec(), {**CONFIG, **(config or {})}, BlobDataset(), out, steps=steps, **{**OPTIONS, **options})


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
