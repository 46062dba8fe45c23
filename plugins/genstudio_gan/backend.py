"""The implementations the GAN family's loaders name: `genstudio_gan.backend:GAN`, `:DCGAN` and `:CGAN`.

Each builds its generator from a resolved config (`build`, used by model loading, so equal configs give equal
parameter shapes) and its training task (`create_training`, used by the training runtime).
"""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_gan import CONV_RESOLUTIONS
from genstudio_gan.networks import ConvDiscriminator, ConvGenerator, GeneratorBase, MLPDiscriminator, MLPGenerator
from genstudio_gan.train import GANTask


class GANBackend:
    """One member of the family: "gan" (fully connected), "dcgan" or "cgan" (class-conditional DCGAN)."""

    def __init__(self, variant: str):
        if variant not in ("gan", "dcgan", "cgan"):
            raise ValueError(f"unknown GAN variant {variant!r}")
        self.variant = variant

    def __repr__(self) -> str:
        return f"GANBackend({self.variant!r})"

    def check_config(self, config: dict[str, Any]) -> None:
        """What the schema's bounds cannot say; a UserError with one line."""
        if config["channels"] not in (1, 3):
            raise UserError(f"{self.variant}: channels must be 1 (grayscale) or 3 (RGB), got {config['channels']}")
        if self.variant != "gan" and config["resolution"] not in CONV_RESOLUTIONS:
            raise UserError(f"{self.variant}: resolution must be 32, 64 or 128, got {config['resolution']}")

    def build(self, config: dict[str, Any]) -> GeneratorBase:
        """The generator, freshly initialised: the module a trained model's weights are loaded into."""
        self.check_config(config)
        if self.variant == "gan":
            return MLPGenerator(config["latent_dim"], config["channels"], config["resolution"], config["ngf"],
                                config["hidden_layers"])
        return ConvGenerator(config["latent_dim"], config["channels"], config["resolution"], config["ngf"],
                             config["num_classes"] if self.variant == "cgan" else 0)

    def build_discriminator(self, config: dict[str, Any]) -> torch.nn.Module:
        """D for this config. Batch norm only without spectral norm, and never for WGAN-GP's critic (its
        gradient penalty is per sample; Gulrajani et al. 2017, section 4)."""
        self.check_config(config)
        if self.variant == "gan":
            return MLPDiscriminator(config["channels"], config["resolution"], config["ndf"], config["hidden_layers"],
                                    config["spectral_norm"], config["minibatch_std"])
        conditional = self.variant == "cgan"
        return ConvDiscriminator(
            config["channels"],
            config["resolution"],
            config["ndf"],
            num_classes=config["num_classes"] if conditional else 0,
            conditioning=config["conditioning"] if conditional else "none",
            spectral_norm=config["spectral_norm"],
            batchnorm=not config["spectral_norm"] and config["loss"] != "wgan-gp",
            minibatch_std=config["minibatch_std"],
        )

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> GANTask:
        data.check_config(self.variant, config, conditional=self.variant == "cgan")
        generator = self.build(config).to(device)
        discriminator = self.build_discriminator(config).to(device)
        return GANTask(generator, discriminator, config)


GAN = GANBackend("gan")
DCGAN = GANBackend("dcgan")
CGAN = GANBackend("cgan")
