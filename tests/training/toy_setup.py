"""Shared helpers for the training tests: the toy backend's spec, an in-memory dataset, metrics and weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema

HERE = Path(__file__).resolve().parent
RESOLUTION = 8


def toy_spec(trainable: bool = True) -> BackendSpec:
    schema = ConfigSchema([
        ConfigField("latent_dim", "int", 4, "Latent length.", min=1, max=64),
        ConfigField("hidden", "int", 16, "Hidden units.", min=1, max=256),
        ConfigField("channels", "int", 1, "Image channels.", min=1, max=3),
        ConfigField("resolution", "int", RESOLUTION, "Image side.", min=1, max=64),
        ConfigField("lr", "float", 0.01, "Adam learning rate.", min=0.0, max=1.0),
    ])
    spec = BackendSpec("toy-trainer", BackendKind.GENERATOR, "Toy trainer", "A test backend.",
                       "toy_trainer:ToyTrainer", schema, Capabilities(trainable=trainable))
    return spec.with_plugin("toy-tests", "0.1")


class ToyReport:
    def to_dict(self) -> dict:
        return {"root": "memory", "loaded": 40}


class ToyDataset:
    """40 random 8 x 8 grey images in 2 classes, held like ImageFolderDataset holds its images."""

    def __init__(self, count: int = 40, channels: int = 1, seed: int = 123):
        generator = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (count, channels, RESOLUTION, RESOLUTION), generator=generator,
                                    dtype=torch.uint8)
        self.labels = torch.arange(count) % 2
        self.classes = ["a", "b"]
        self.report = ToyReport()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index].float() / 255.0, int(self.labels[index])


def read_records(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]


def weights(out_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(out_dir / "weights.safetensors")
