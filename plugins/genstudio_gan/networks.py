"""Generators and discriminators of the GAN family.

Generators are what `build(config)` returns and what a saved model holds: they follow genstudio's
GeneratorModel contract (`latent_dim`, `num_classes`, `generate(z, labels) -> N x C x R x R in [0, 1]`).
Internally they end in tanh (`synthesize`, images in [-1, 1], what the discriminator sees) and `generate` maps
that to [0, 1] with (x + 1) / 2.

The convolutional pair follows DCGAN (Radford et al. 2016, section 3 and figure 1): transposed convolutions with
kernel 4, stride 2, padding 1 double the size from 4 x 4, batch norm and ReLU in G, strided convolutions with
LeakyReLU(0.2) in D, weights drawn from N(0, 0.02). At 64 x 64 the shapes are exactly those of the paper:

    G: z -> (ngf*8) x 4 x 4 -> (ngf*4) x 8 x 8 -> (ngf*2) x 16 x 16 -> ngf x 32 x 32 -> C x 64 x 64
    D: C x 64 x 64 -> ndf x 32 x 32 -> (ndf*2) x 16 x 16 -> (ndf*4) x 8 x 8 -> (ndf*8) x 4 x 4 -> 1

32 x 32 drops the widest stage, 128 x 128 adds one (the width multiplier stops at 8).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

MAX_WIDTH_MULT = 8  # widths stop growing at ngf*8 / ndf*8, as in DCGAN's 64 x 64 networks


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al. 2016, section 4): weights ~ N(0, 0.02), batch-norm scales ~
    N(1, 0.02), biases 0. Call through `module.apply` before spectral norm wraps the weights."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def conv_stages(resolution: int) -> int:
    """Number of x2 stages between 4 x 4 and `resolution` (a power of two >= 8): 32 -> 3, 64 -> 4, 128 -> 5."""
    stages = int(math.log2(resolution)) - 2
    if resolution < 8 or 4 * 2**stages != resolution:
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return stages


def width_mult(stage_from_top: int) -> int:
    """Width multiplier `stage_from_top` stages away from the full-resolution layer: 1, 2, 4, 8, 8, ..."""
    return min(2**stage_from_top, MAX_WIDTH_MULT)


def maybe_sn(layer: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalisation of `layer`'s weight (Miyato et al. 2018) when `enabled`."""
    return _spectral_norm(layer) if enabled else layer


class MinibatchStd(nn.Module):
    """Appends the batch's mean standard deviation as one more feature (Karras et al. 2018, section 3).

    The standard deviation of every feature (and pixel) over the batch, averaged to a single number, is
    replicated as a constant extra channel (or a constant extra unit for flat features), so D can tell a batch of
    near-identical samples from a varied real batch.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(x.float().var(dim=0, unbiased=False) + 1e-8).mean().to(x.dtype)  # a scalar
        extra = std.expand(x.shape[0], 1, *x.shape[2:])  # N x 1 (x H x W)
        return torch.cat([x, extra], dim=1)


class GeneratorBase(nn.Module):
    """The GeneratorModel contract on top of `synthesize` (images in [-1, 1])."""

    latent_dim: int
    num_classes: int

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def check_inputs(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
        """Validate z and labels; for a conditional G without labels, cycle through the classes (0, 1, 2, ...)."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim}, got {tuple(z.shape)}")
        if not self.num_classes:
            return None
        if labels is None:
            return torch.arange(z.shape[0], device=z.device) % self.num_classes
        if labels.shape != (z.shape[0],) or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must be N integers in 0..{self.num_classes - 1}, one per row of z")
        return labels.long()

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return (self.synthesize(z, labels) + 1) / 2  # tanh range [-1, 1] -> [0, 1]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(z, labels)


# --------------------------------------------------------------------------------------------------------------
# Fully connected (Goodfellow et al. 2014)
# --------------------------------------------------------------------------------------------------------------


class MLPGenerator(GeneratorBase):
    """z -> [Linear, BatchNorm, ReLU] x hidden_layers -> Linear -> tanh -> C x R x R."""

    def __init__(
        self,
        latent_dim: int = 100,  # length of z
        channels: int = 1,  # C
        resolution: int = 28,  # R
        width: int = 512,  # units per hidden layer
        hidden_layers: int = 2,  # number of hidden layers
    ):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, 0
        self.channels, self.resolution = channels, resolution
        layers: list[nn.Module] = []
        features = latent_dim
        for _ in range(hidden_layers):
            layers += [nn.Linear(features, width), nn.BatchNorm1d(width), nn.ReLU(True)]  # width
            features = width
        layers += [nn.Linear(features, channels * resolution * resolution), nn.Tanh()]  # C*R*R
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        self.check_inputs(z, labels)
        return self.net(z).view(-1, self.channels, self.resolution, self.resolution)  # C x R x R


class MLPDiscriminator(nn.Module):
    """C x R x R -> flatten -> [Linear, LeakyReLU(0.2)] x hidden_layers -> (minibatch std) -> Linear -> 1 logit."""

    def __init__(
        self,
        channels: int = 1,  # C
        resolution: int = 28,  # R
        width: int = 512,  # units per hidden layer
        hidden_layers: int = 2,  # number of hidden layers
        spectral_norm: bool = False,  # spectral normalisation of every Linear
        minibatch_std: bool = False,  # one more feature before the last layer
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]  # C*R*R
        features = channels * resolution * resolution
        for _ in range(hidden_layers):
            layers += [nn.Linear(features, width), nn.LeakyReLU(0.2, True)]  # width
            features = width
        if minibatch_std:
            layers.append(MinibatchStd())  # width + 1
            features += 1
        layers.append(nn.Linear(features, 1))  # 1
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        if spectral_norm:
            for module in self.net:
                if isinstance(module, nn.Linear):
                    _spectral_norm(module)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).view(-1)  # N logits


# --------------------------------------------------------------------------------------------------------------
# Convolutional (Radford et al. 2016), optionally class-conditional
# --------------------------------------------------------------------------------------------------------------


class ConvGenerator(GeneratorBase):
    """DCGAN's generator; with num_classes > 0 a learned label embedding (latent_dim long) is concatenated to z
    (Mirza & Osindero 2014)."""

    def __init__(
        self,
        latent_dim: int = 100,  # length of z
        channels: int = 3,  # C
        resolution: int = 64,  # R: 32, 64 or 128
        ngf: int = 64,  # width of the last hidden layer
        num_classes: int = 0,  # > 0: class-conditional
    ):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        stages = conv_stages(resolution)
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        inputs = latent_dim * (2 if num_classes else 1)  # z (+ label embedding) as 1 x 1 feature maps
        width = ngf * width_mult(stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(inputs, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
        ]  # (ngf*mult) x 4 x 4
        for stage in range(stages - 2, -1, -1):  # stage from the top: the layer reaches R / 2**(stage+1)
            out = ngf * width_mult(stage)
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
            width = out  # (ngf*mult/2) x 2s x 2s, ending at ngf x R/2 x R/2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]  # C x R x R
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        labels = self.check_inputs(z, labels)
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # 2*latent_dim
        return self.net(z[:, :, None, None])  # latent x 1 x 1 -> C x R x R


class ConvDiscriminator(nn.Module):
    """DCGAN's discriminator, optionally class-conditional.

    `conditioning`:
    - "none": unconditional;
    - "projection": logit = psi(phi(x)) + <embed(y), phi(x)> with phi(x) the 4 x 4 features summed over space
      (Miyato & Koyama 2018, equation 3);
    - "concat": num_classes one-hot label maps concatenated to the image's channels.
    """

    def __init__(
        self,
        channels: int = 3,  # C
        resolution: int = 64,  # R: 32, 64 or 128
        ndf: int = 64,  # width of the first layer
        num_classes: int = 0,  # > 0 with conditioning projection or concat
        conditioning: str = "none",  # none | projection | concat
        spectral_norm: bool = False,  # spectral normalisation of every conv and the projection embedding
        batchnorm: bool = True,  # batch norm after every conv but the first (DCGAN); off with SN or WGAN-GP
        minibatch_std: bool = False,  # one more channel before the last conv
    ):
        super().__init__()
        if conditioning not in ("none", "projection", "concat"):
            raise ValueError(f"conditioning must be none, projection or concat, got {conditioning!r}")
        if (conditioning != "none") != (num_classes > 0):
            raise ValueError("a conditional discriminator needs num_classes > 0, an unconditional one 0")
        self.num_classes, self.conditioning = num_classes, conditioning
        stages = conv_stages(resolution)
        inputs = channels + (num_classes if conditioning == "concat" else 0)
        layers: list[nn.Module] = [nn.Conv2d(inputs, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # ndf x R/2 x R/2
        width = ndf
        for stage in range(1, stages):
            out = ndf * width_mult(stage)
            layers.append(nn.Conv2d(width, out, 4, 2, 1, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, True))
            width = out  # (ndf*2**stage) x R/2**(stage+1), ending at (ndf*mult) x 4 x 4
        if minibatch_std:
            layers.append(MinibatchStd())  # (ndf*mult + 1) x 4 x 4
            width += 1
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 4, 1, 0)  # 1 x 1 x 1
        self.embed = nn.Embedding(num_classes, width) if conditioning == "projection" else None
        self.apply(init_dcgan_weights)
        if spectral_norm:
            for module in [*self.features, self.head, self.embed]:
                if isinstance(module, (nn.Conv2d, nn.Embedding)):
                    _spectral_norm(module)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditioning != "none" and labels is None:
            raise ValueError("this discriminator is conditional: pass labels")
        if self.conditioning == "concat":
            maps = nn.functional.one_hot(labels, self.num_classes).to(x.dtype)  # N x K
            x = torch.cat([x, maps[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)  # (C + K) x R x R
        h = self.features(x)  # (ndf*mult) x 4 x 4
        logits = self.head(h).view(-1)  # N
        if self.embed is not None:
            phi = h.sum(dim=(2, 3))  # N x (ndf*mult): global sum pooling
            logits = logits + (self.embed(labels) * phi).sum(dim=1)
        return logits
