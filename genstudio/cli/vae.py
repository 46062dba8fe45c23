"""`genstudio reconstruct` and `genstudio interpolate` for autoencoder models (VAE family)."""

from __future__ import annotations

import typer

from genstudio.errors import UserError


def reconstruct(model: str = typer.Argument(..., help="A trained autoencoder model folder.")) -> None:
    """Encode and decode images through an autoencoder model."""
    raise UserError("reconstruct is not available yet")


def interpolate(model: str = typer.Argument(..., help="A trained autoencoder model folder.")) -> None:
    """Decode a path through latent space between two images."""
    raise UserError("interpolate is not available yet")
