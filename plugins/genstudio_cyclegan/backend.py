"""The implementation `genstudio_cyclegan.backend:CycleGANBackend` names: `build(config)` (the saved model, both
generators) and `create_training(config, data, device)` (the runtime's TrainingTask)."""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_cyclegan.networks import CycleGAN, min_crop
from genstudio_cyclegan.train import CycleGANTask, crop_size

LITE_WIDTH_DIVISOR = 2  # the lite generator: half the width, separable residual blocks


def generator_shape(config: dict[str, Any]) -> tuple[int, int, bool]:
    """(width, residual blocks, separable) of both generators: blocks 0 -> 9 at 256 px and above, 6 below
    (the paper's appendix 7.2); `lite` halves the width and makes the blocks depthwise-separable."""
    blocks = int(config["blocks"]) or (9 if int(config["resolution"]) >= 256 else 6)
    if config["generator"] == "lite":
        return max(1, int(config["ngf"]) // LITE_WIDTH_DIVISOR), blocks, True
    return int(config["ngf"]), blocks, False


class CycleGANBackend:
    @staticmethod
    def build(config: dict[str, Any]) -> CycleGAN:
        return CycleGAN(*generator_shape(config))

    @staticmethod
    def create_training(config: dict[str, Any], data, device: torch.device) -> CycleGANTask:
        if data.channels != 6:
            raise UserError("cyclegan trains on two domains: give --data A --data-b B, or a --data folder with "
                            "subfolders A/ and B/")
        if data.resolution != config["resolution"]:
            raise UserError(f"cyclegan: the images are {data.resolution} px but the config says "
                            f"resolution={config['resolution']}")
        crop, layers = crop_size(config), int(config["d_layers"])
        if crop < 8:
            raise UserError(f"cyclegan: the training crop must be at least 8 px, got {crop}")
        if crop < min_crop(layers):
            raise UserError(f"cyclegan: a {crop} px training crop is too small for d_layers={layers} (it needs "
                            f"{min_crop(layers)} px): set a smaller d_layers, or a larger crop or resolution")
        return CycleGANTask(CycleGANBackend.build(config), config)
