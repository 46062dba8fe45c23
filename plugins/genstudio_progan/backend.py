"""The implementation `genstudio_progan.backend:PROGAN` names: builds the generator from a resolved config (model
loading; equal configs give equal parameter shapes) and the training task (the training runtime)."""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_progan.networks import ProDiscriminator, ProGenerator
from genstudio_progan.schedule import parse_stage_batch, stage_count
from genstudio_progan.train import ProGANTask


class ProGANBackend:
    def __repr__(self) -> str:
        return "ProGANBackend()"

    def check_config(self, config: dict[str, Any]) -> None:
        """What the schema's bounds cannot say; a UserError with one line."""
        if config["channels"] not in (1, 3):
            raise UserError(f"progan: channels must be 1 (grayscale) or 3 (RGB), got {config['channels']}")
        stage_count(config["resolution"])
        parse_stage_batch(config["stage_batch"])

    def build(self, config: dict[str, Any]) -> ProGenerator:
        """The generator, freshly initialised and fully grown: the module a trained model's weights load into."""
        self.check_config(config)
        return ProGenerator(config["latent_dim"], config["channels"], config["resolution"], config["ngf"])

    def build_discriminator(self, config: dict[str, Any]) -> ProDiscriminator:
        self.check_config(config)
        return ProDiscriminator(config["channels"], config["resolution"], config["ndf"], config["minibatch_std"])

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> ProGANTask:
        data.check_config("progan", config)
        return ProGANTask(self.build(config).to(device), self.build_discriminator(config).to(device), config)


PROGAN = ProGANBackend()
