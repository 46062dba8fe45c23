"""CycleGAN's networks (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", section 4 and appendix 7.2), as in the authors' pytorch-CycleGAN-and-pix2pix `networks.py`.

Generator (Johnson et al. 2016's ResNet layout, 9 blocks at 256 px, 6 below), at H x W:

    3 x H x W -> reflect-pad 3, conv7 -> ngf x H x W -> conv3/2 -> (ngf*2) x H/2 -> conv3/2 -> (ngf*4) x H/4
    -> `blocks` residual blocks (reflect-pad 1, conv3, IN, ReLU, reflect-pad 1, conv3, IN) at (ngf*4) x H/4
    -> convT3/2 -> (ngf*2) x H/2 -> convT3/2 -> ngf x H -> reflect-pad 3, conv7 -> 3 x H x W, tanh

with instance norm (no affine, no running statistics) and ReLU after every convolution but the last. The `lite`
variant halves the width and makes each residual block's convolutions depthwise-separable (the mobile ResNet
generator of GAN Compression, Li et al. 2020); bench/cyclegan.py counts both generators' MACs.

Any input size: a side that is not a multiple of 4 (or is below 8) is padded (edge pixels repeated) up to one, and
the output cropped back, so the two stride-2 convolutions and their transposes line up. The pad amounts are
computed from the traced shape, so an exported graph does the same at every size.

Discriminator: the 70 x 70 PatchGAN, C64 - C128 - C256 - C512 (4 x 4 convolutions, stride 2 but the last
stride 1, LeakyReLU 0.2, instance norm but not on the first), then a 4 x 4 convolution to one logit per patch.
"""

from __future__ import annotations

import torch
from torch import nn

MULTIPLE = 4  # two stride-2 stages: sides must divide by 4
MIN_SIDE = 8  # the residual blocks' reflection padding needs H/4 >= 2


def init_weights(module: nn.Module) -> None:
    """The authors' `init_type='normal'`: convolution weights ~ N(0, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def _conv3(channels: int, separable: bool) -> list[nn.Module]:
    """A 3 x 3 convolution at constant width: full, or depthwise then pointwise (separable)."""
    if not separable:
        return [nn.Conv2d(channels, channels, 3, bias=True)]
    return [nn.Conv2d(channels, channels, 3, groups=channels, bias=True), nn.Conv2d(channels, channels, 1)]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, separable: bool = False):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), *_conv3(channels, separable), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), *_conv3(channels, separable), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Images in [-1, 1] -> images in [-1, 1] of the same size."""

    def __init__(self, ngf: int = 64, blocks: int = 9, separable: bool = False, channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for mult in (1, 2):  # ngf x H -> (ngf*2) x H/2 -> (ngf*4) x H/4
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1), _norm(ngf * mult * 2),
                       nn.ReLU(True)]
        layers += [ResidualBlock(ngf * 4, separable) for _ in range(blocks)]  # (ngf*4) x H/4
        for mult in (4, 2):  # (ngf*4) x H/4 -> (ngf*2) x H/2 -> ngf x H
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, channels, 7), nn.Tanh()]  # channels x H x W
        self.model = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        padded = pad_to_multiple(x)
        return self.model(padded)[..., :height, :width]


def pad_to_multiple(x: torch.Tensor) -> torch.Tensor:
    """`x` with its bottom and right edges repeated until each side is a multiple of 4 and at least 8."""
    height, width = x.shape[-2], x.shape[-1]
    pad_h = _pad_amount(height)
    pad_w = _pad_amount(width)
    if isinstance(pad_h, int) and isinstance(pad_w, int) and pad_h == 0 and pad_w == 0:
        return x  # eager fast path; a traced graph always pads (by 0 at aligned sizes)
    return nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


def _pad_amount(side):
    """How much to add to `side` (an int, or a traced size) to reach a multiple of 4 that is at least 8."""
    if isinstance(side, int):
        return max(MIN_SIDE - side, (-side) % MULTIPLE)
    target = torch.clamp(torch.div(side + MULTIPLE - 1, MULTIPLE, rounding_mode="floor") * MULTIPLE, min=MIN_SIDE)
    return target - side


def min_crop(layers: int) -> int:
    """The smallest training crop a PatchGAN with `layers` strided layers takes: its last instance norm sees
    side // 2**layers - 1 pixels a side, and needs at least 2 (3 layers: 24 px; 2: 12 px)."""
    return 3 * 2**layers


class PatchDiscriminator(nn.Module):
    """The 70 x 70 PatchGAN: images in [-1, 1] -> N x 1 x h x w logits, one per overlapping patch."""

    def __init__(self, ndf: int = 64, layers: int = 3, channels: int = 3):
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for index in range(1, layers + 1):  # ndf -> 2 ndf -> 4 ndf (stride 2) -> 8 ndf (stride 1)
            out = ndf * min(2**index, 8)
            seq += [nn.Conv2d(width, out, 4, stride=2 if index < layers else 1, padding=1), _norm(out),
                    nn.LeakyReLU(0.2, True)]
            width = out
        seq += [nn.Conv2d(width, 1, 4, stride=1, padding=1)]  # 1 x h x w
        self.model = nn.Sequential(*seq)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class CycleGAN(nn.Module):
    """The saved model: both generators. genstudio's translator contract: images in [0, 1], a direction."""

    directions = ("a2b", "b2a")

    def __init__(self, ngf: int, blocks: int, separable: bool):
        super().__init__()
        self.g_ab = ResnetGenerator(ngf, blocks, separable)
        self.g_ba = ResnetGenerator(ngf, blocks, separable)

    def generator(self, direction: str | None) -> ResnetGenerator:
        if direction not in (None, *self.directions):
            raise ValueError(f"direction must be a2b or b2a, got {direction!r}")
        return self.g_ba if direction == "b2a" else self.g_ab

    def translate(self, x: torch.Tensor, direction: str | None = None) -> torch.Tensor:
        """N x 3 x H x W in [0, 1] -> the other domain, same shape, in [0, 1]."""
        return (self.generator(direction)(x * 2 - 1) + 1) / 2

    def export_graphs(self) -> list:
        from genstudio_cyclegan.export import graphs

        return graphs(self)
