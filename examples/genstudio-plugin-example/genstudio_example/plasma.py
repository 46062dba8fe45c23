"""The plasma backend's implementation: imported on first use, so torch may be imported here.

Fractal value noise: octave k is a grid of (2^k + 1) x (2^k + 1) random values, stretched over the image by
bilinear interpolation; octaves are summed with halving amplitude (each one twice as fine, half as strong: the
1/f "plasma" of Fournier, Fussell & Carpenter, "Computer rendering of stochastic models", CACM 1982, whose
midpoint subdivision uses the same 2^k + 1 lattices). The random values are the latent vector itself, read grid
after grid, so the same z always gives the same texture and nearby z give similar ones. The sum goes through a
colour ramp. There are no learned weights.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# Colour ramps: RGB stops from t = 0 to t = 1, evenly spaced.
COLORMAPS = {
    "fire": ((0.0, 0.0, 0.0), (0.55, 0.05, 0.0), (0.95, 0.4, 0.0), (1.0, 0.8, 0.2), (1.0, 1.0, 0.9)),
    "ocean": ((0.0, 0.02, 0.1), (0.0, 0.15, 0.4), (0.0, 0.45, 0.7), (0.3, 0.8, 0.85), (0.9, 1.0, 1.0)),
    "grey": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
CONTRAST = 1.5  # interpolation averages neighbours and shrinks the spread; this widens it back before the ramp


class PlasmaGenerator(nn.Module):
    """kind = generator, unconditional: `generate(z)` -> N x 3 x R x R textures in [0, 1]. No parameters."""

    def __init__(self, resolution: int = 64, octaves: int = 4, colormap: str = "fire"):
        super().__init__()
        self.resolution = resolution
        self.grid_sizes = [2**k + 1 for k in range(octaves)]  # points per side: 2, 3, 5, 9, 17, 33
        self.latent_dim = sum(size * size for size in self.grid_sizes)  # 119 for the default 4 octaves
        self.num_classes = 0  # unconditional
        # Not saved with the model (persistent=False): it follows from the config, like everything here.
        self.register_buffer("ramp", torch.tensor(COLORMAPS[colormap]), persistent=False)  # stops x 3

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z: N x latent_dim, standard normal. labels: ignored (unconditional). -> N x 3 x R x R."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim}, got {tuple(z.shape)}")
        size = (self.resolution, self.resolution)
        noise = z.new_zeros(z.shape[0], 1, *size)  # N x 1 x R x R
        start = 0
        for octave, points in enumerate(self.grid_sizes):
            grid = z[:, start : start + points * points].reshape(-1, 1, points, points)  # N x 1 x p x p
            start += points * points
            # align_corners: the grid's outer points sit on the image's corners, as in midpoint subdivision
            noise = noise + 0.5**octave * F.interpolate(grid, size=size, mode="bilinear", align_corners=True)
        spread = math.sqrt(sum(0.25**octave for octave in range(len(self.grid_sizes))))  # std of the sum at a point
        t = 0.5 * (1 + torch.erf(CONTRAST * noise / (spread * math.sqrt(2))))  # normal CDF: N x 1 x R x R in (0, 1)
        return self._colour(t)

    forward = generate

    def _colour(self, t: torch.Tensor) -> torch.Tensor:
        """N x 1 x R x R in [0, 1] -> N x 3 x R x R: linear interpolation between the ramp's stops."""
        position = t[:, 0] * (self.ramp.shape[0] - 1)  # N x R x R
        lower = torch.clamp(torch.floor(position), 0, self.ramp.shape[0] - 2).long()  # index of the stop below
        fraction = (position - lower)[..., None]  # N x R x R x 1
        ramp = self.ramp.to(t.dtype)
        rgb = ramp[lower] * (1 - fraction) + ramp[lower + 1] * fraction  # N x R x R x 3
        return rgb.permute(0, 3, 1, 2).clamp(0, 1)


class PlasmaBackend:
    """What `BackendSpec.loader` names ("genstudio_example.plasma:PlasmaBackend"): `build(config)` gets a config
    already validated against the schema (every key present, in range) and returns the torch module."""

    @staticmethod
    def build(config: dict[str, Any]) -> PlasmaGenerator:
        return PlasmaGenerator(**config)
