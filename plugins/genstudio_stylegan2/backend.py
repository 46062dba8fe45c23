"""The implementation `genstudio_stylegan2.backend:STYLEGAN2` names: builds the generator from a resolved config
(model loading; equal configs give equal parameter shapes) and the training task (the training runtime)."""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_stylegan2.networks import StyleDiscriminator, StyleGenerator, block_count
from genstudio_stylegan2.train import StyleGAN2Task


def classes(config: dict[str, Any]) -> int:
    """The classes the networks are conditioned on: num_classes when `conditional`, else 0."""
    return int(config["num_classes"]) if config["conditional"] else 0


class StyleGAN2Backend:
    def __repr__(self) -> str:
        return "StyleGAN2Backend()"

    def check_config(self, config: dict[str, Any]) -> None:
        """What the schema's bounds cannot say; a UserError with one line."""
        if config["channels"] not in (1, 3):
            raise UserError(f"stylegan2: channels must be 1 (grayscale) or 3 (RGB), got {config['channels']}")
        try:
            block_count(config["resolution"])
        except ValueError:
            raise UserError(f"stylegan2: resolution must be a power of two from 8 to 512, got "
                            f"{config['resolution']}") from None
        if config["conditional"] and config["num_classes"] < 2:
            raise UserError("stylegan2: conditional=true needs a dataset with at least 2 class subfolders "
                            f"(num_classes is {config['num_classes']})")

    def build(self, config: dict[str, Any]) -> StyleGenerator:
        """The generator, freshly initialised: the module a trained model's weights load into."""
        self.check_config(config)
        return StyleGenerator(config["latent_dim"], config["w_dim"], classes(config), config["channels"],
                              config["resolution"], config["channel_base"], config["channel_max"],
                              config["mapping_layers"], config["aspect"])

    def build_discriminator(self, config: dict[str, Any]) -> StyleDiscriminator:
        self.check_config(config)
        return StyleDiscriminator(config["channels"], config["resolution"], config["channel_base"],
                                  config["channel_max"], classes(config), config["mbstd_group"])

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> StyleGAN2Task:
        data.check_config("stylegan2", config, conditional=bool(config["conditional"]))
        return StyleGAN2Task(self.build(config).to(device), self.build_discriminator(config).to(device), config,
                             data.size)


STYLEGAN2 = StyleGAN2Backend()
