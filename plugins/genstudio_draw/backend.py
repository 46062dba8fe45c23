"""The implementation `genstudio_draw.backend:DRAW` names: builds the module from a resolved config (model loading
uses it, so equal configs give equal parameter shapes) and its training task."""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_draw.model import DRAW as DRAWModule
from genstudio_draw.train import DRAWTask


class DRAWBackend:
    def __repr__(self) -> str:
        return "DRAWBackend()"

    def check_config(self, config: dict[str, Any]) -> None:
        """What the schema's bounds cannot say; a UserError with one line."""
        if config["channels"] not in (1, 3):
            raise UserError(f"draw: channels must be 1 (grayscale) or 3 (RGB), got {config['channels']}")
        for name in ("read_n", "write_n"):
            if config["attention"] and config[name] > config["resolution"]:
                raise UserError(f"draw: {name}={config[name]} is a grid larger than the {config['resolution']} px "
                                "image; use at most the resolution")

    def build(self, config: dict[str, Any]) -> DRAWModule:
        """The DRAW module, freshly initialised: the module a trained model's weights are loaded into."""
        self.check_config(config)
        return DRAWModule(
            channels=config["channels"],
            resolution=config["resolution"],
            steps=config["steps"],
            z_size=config["z_size"],
            enc_size=config["enc_size"],
            dec_size=config["dec_size"],
            attention=config["attention"],
            read_n=config["read_n"],
            write_n=config["write_n"],
            likelihood=config["likelihood"],
            gaussian_variance=config["gaussian_variance"],
            gaussian_std=config["gaussian_std"],
        )

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> DRAWTask:
        data.check_config("draw", config)
        return DRAWTask(self.build(config).to(device), config)


DRAW = DRAWBackend()
