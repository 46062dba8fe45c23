"""The implementations the VAE family's loaders name: `genstudio_vae.backend:VAE` and `:CVAE`.

Each builds its module from a resolved config (`build`, used by model loading, so equal configs give equal
parameter shapes) and its training task (`create_training`, used by the training runtime).
"""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_vae import CONV_RESOLUTIONS
from genstudio_vae.model import ConvVAE
from genstudio_vae.train import VAETask


class VAEBackend:
    """One member of the family: "vae" or "cvae" (class-conditional)."""

    def __init__(self, variant: str):
        if variant not in ("vae", "cvae"):
            raise ValueError(f"unknown VAE variant {variant!r}")
        self.variant = variant

    def __repr__(self) -> str:
        return f"VAEBackend({self.variant!r})"

    @property
    def conditional(self) -> bool:
        return self.variant == "cvae"

    def check_config(self, config: dict[str, Any]) -> None:
        """What the schema's bounds cannot say; a UserError with one line."""
        if config["channels"] not in (1, 3):
            raise UserError(f"{self.variant}: channels must be 1 (grayscale) or 3 (RGB), got {config['channels']}")
        if config["resolution"] not in CONV_RESOLUTIONS:
            raise UserError(f"{self.variant}: resolution must be 32, 64 or 128, got {config['resolution']}")

    def build(self, config: dict[str, Any]) -> ConvVAE:
        """The VAE, freshly initialised: the module a trained model's weights are loaded into."""
        self.check_config(config)
        return ConvVAE(
            latent_dim=config["latent_dim"],
            channels=config["channels"],
            resolution=config["resolution"],
            width=config["width"],
            num_classes=config["num_classes"] if self.conditional else 0,
            likelihood=config["likelihood"],
            gaussian_variance=config["gaussian_variance"],
            gaussian_std=config["gaussian_std"],
        )

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> VAETask:
        data.check_config(self.variant, config, conditional=self.conditional)
        return VAETask(self.build(config).to(device), config)


VAE = VAEBackend("vae")
CVAE = VAEBackend("cvae")
