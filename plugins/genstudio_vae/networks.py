"""The VAE's two networks: a strided convolutional encoder and a transposed convolutional decoder.

Both follow DCGAN's layout (Radford et al. 2016): kernel 4, stride 2, padding 1 halves or doubles the size
between R x R and 4 x 4, with widths doubling toward 4 x 4 (capped at 8x). No normalisation layers, so an image's
posterior and ELBO never depend on the rest of its batch. At 32 x 32 with width w:

    encoder: C x 32 x 32 -> w x 16 x 16 -> (w*2) x 8 x 8 -> (w*4) x 4 x 4 -> flatten (+ one-hot label)
             -> Linear -> 2 * latent_dim (posterior mean and log-variance)
    decoder: z (+ one-hot label) -> Linear -> (w*4) x 4 x 4 -> (w*2) x 8 x 8 -> w x 16 x 16 -> C x 32 x 32

64 x 64 adds one stage, 128 x 128 two. The conditional variant (Sohn et al. 2015) concatenates the one-hot label
to the encoder's flattened features and to z.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_WIDTH_MULT = 8


def conv_stages(resolution: int) -> int:
    """Number of x2 stages between 4 x 4 and `resolution` (a power of two >= 8): 32 -> 3, 64 -> 4, 128 -> 5."""
    stages = int(math.log2(resolution)) - 2
    if resolution < 8 or 4 * 2**stages != resolution:
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return stages


def width_mult(stage: int) -> int:
    """Width multiplier of the layer `stage` halvings below full resolution (stage 0 = R/2): 1, 2, 4, 8, 8."""
    return min(2**stage, MAX_WIDTH_MULT)


class Encoder(nn.Module):
    """x (N x C x R x R in [0, 1]) and optional labels -> (mu, logvar), each N x latent_dim."""

    def __init__(
        self,
        channels: int,  # C
        resolution: int,  # R: 32, 64 or 128
        width: int,  # w: channels at R/2 x R/2
        latent_dim: int,  # length of z
        num_classes: int = 0,  # > 0: the one-hot label joins the features
    ):
        super().__init__()
        self.num_classes = num_classes
        stages = conv_stages(resolution)
        layers: list[nn.Module] = []
        features = channels
        for stage in range(stages):
            out = width * width_mult(stage)
            layers += [nn.Conv2d(features, out, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            features = out  # (w*mult) x R/2**(stage+1), ending at (w*mult) x 4 x 4
        self.features = nn.Sequential(*layers, nn.Flatten())  # (w*mult)*16
        self.head = nn.Linear(features * 16 + num_classes, 2 * latent_dim)  # 2 * latent_dim

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x * 2 - 1)  # centred input [-1, 1] -> N x (w*mult)*16
        if onehot is not None:
            h = torch.cat([h, onehot.to(h.dtype)], dim=1)  # N x ((w*mult)*16 + K)
        mu, logvar = self.head(h).chunk(2, dim=1)  # N x latent_dim each
        return mu, logvar


class Decoder(nn.Module):
    """z (N x latent_dim) and optional one-hot labels -> N x C x R x R: logits (Bernoulli) or pre-sigmoid means."""

    def __init__(
        self,
        channels: int,  # C
        resolution: int,  # R: 32, 64 or 128
        width: int,  # w: channels at R/2 x R/2
        latent_dim: int,  # length of z
        num_classes: int = 0,  # > 0: the one-hot label joins z
    ):
        super().__init__()
        stages = conv_stages(resolution)
        self.top = width * width_mult(stages - 1)
        self.project = nn.Sequential(nn.Linear(latent_dim + num_classes, self.top * 16), nn.ReLU(True))
        layers: list[nn.Module] = []
        features = self.top  # (w*mult) x 4 x 4
        for stage in range(stages - 2, -1, -1):
            out = width * width_mult(stage)
            layers += [nn.ConvTranspose2d(features, out, 4, 2, 1), nn.ReLU(True)]
            features = out  # doubling, ending at w x R/2 x R/2
        layers.append(nn.ConvTranspose2d(features, channels, 4, 2, 1))  # C x R x R
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        if onehot is not None:
            z = torch.cat([z, onehot.to(z.dtype)], dim=1)  # N x (latent_dim + K)
        h = self.project(z).view(-1, self.top, 4, 4)  # (w*mult) x 4 x 4
        return self.net(h)  # C x R x R
