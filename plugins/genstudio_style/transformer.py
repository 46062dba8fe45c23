"""The fast-style image transformation network (Johnson, Alahi & Fei-Fei, ECCV 2016, supplementary table 1).

Changes from the paper, as in most later implementations:
  * instance normalisation instead of batch norm (Ulyanov, Vedaldi & Lempitsky 2016), which removes the
    content image's contrast and sharpens the results;
  * upsampling by nearest-neighbour resize then convolution instead of transposed convolution (Odena, Dumoulin
    & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016): no checkerboard artifacts;
  * reflection padding everywhere, so borders carry no zero-padding seam.

Fully convolutional: any H x W works. The stride-2 convolutions (padding 1) give ceil(H/2) then ceil(H/4) rows,
the two x2 upsamplings 4 * ceil(H/4) >= H, and the output is cropped back to H x W.

Sizes: "standard" is the paper's network (32/64/128 channels, five residual blocks). "lite" has half the
channels (16/32/64), smaller 5 x 5 border kernels, depthwise-separable residual blocks and upsampling
convolutions (Howard et al., MobileNets 2017: a 3 x 3 depthwise convolution then a 1 x 1 pointwise one) and zero
padding inside the convolutions (no separate padding pass): about a twentieth of the standard network's compute.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

SIZES: dict[str, dict[str, Any]] = {
    "standard": {"widths": (32, 64, 128), "blocks": 5, "border_kernel": 9, "separable": False, "reflect": True},
    "lite": {"widths": (16, 32, 64), "blocks": 5, "border_kernel": 5, "separable": True, "reflect": False},
}


class ConvLayer(nn.Sequential):
    """Padding (reflection, or zeros inside the convolution: one memory pass less), convolution, then
    (optionally) instance norm and ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, norm: bool = True, relu: bool = True,
                 groups: int = 1, reflect: bool = True):
        if reflect:
            layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride,
                                                                                 groups=groups)]
        else:
            layers = [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups)]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def separable_conv(cin: int, cout: int, *, relu: bool, reflect: bool) -> nn.Sequential:
    """A 3 x 3 depthwise convolution then a 1 x 1 pointwise one with norm (Howard et al., MobileNets 2017)."""
    return nn.Sequential(ConvLayer(cin, cin, 3, groups=cin, norm=False, relu=False, reflect=reflect),
                         ConvLayer(cin, cout, 1, relu=relu, reflect=False))


class ResidualBlock(nn.Module):
    """x + F(x), F = two 3 x 3 conv + instance norm layers (He et al. 2016; Gross & Wilber's variant without the
    final ReLU, as Johnson 2016 uses). Separable: each 3 x 3 conv becomes depthwise 3 x 3 + pointwise 1 x 1."""

    def __init__(self, channels: int, separable: bool, reflect: bool):
        super().__init__()
        if separable:
            self.body = nn.Sequential(separable_conv(channels, channels, relu=True, reflect=reflect),
                                      separable_conv(channels, channels, relu=False, reflect=reflect))
        else:
            self.body = nn.Sequential(ConvLayer(channels, channels, 3, reflect=reflect),
                                      ConvLayer(channels, channels, 3, relu=False, reflect=reflect))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest-neighbour x2, then a convolution layer (Odena et al. 2016); separable in the lite network."""

    def __init__(self, cin: int, cout: int, separable: bool, reflect: bool):
        super().__init__()
        self.conv = (separable_conv(cin, cout, relu=True, reflect=reflect) if separable
                     else ConvLayer(cin, cout, 3, reflect=reflect))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class TransformerNet(nn.Module):
    """N x 3 x H x W in [0, 1] -> N x 3 x H x W, roughly in [0, 1] (the caller clamps for display)."""

    def __init__(self, size: str = "standard"):
        super().__init__()
        shape = SIZES[size]
        c1, c2, c3 = shape["widths"]
        k, sep, reflect = shape["border_kernel"], shape["separable"], shape["reflect"]
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, k, reflect=reflect),  # c1 x H x W
            ConvLayer(c1, c2, 3, 2, reflect=reflect),  # c2 x H/2 x W/2
            ConvLayer(c2, c3, 3, 2, reflect=reflect),  # c3 x H/4 x W/4
        )
        self.residuals = nn.Sequential(*[ResidualBlock(c3, sep, reflect) for _ in range(shape["blocks"])])
        self.decoder = nn.Sequential(
            UpsampleConv(c3, c2, sep, reflect),  # c2 x H/2 x W/2
            UpsampleConv(c2, c1, sep, reflect),  # c1 x H x W
            ConvLayer(c1, 3, k, norm=False, relu=False, reflect=reflect),  # 3 x H x W
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = self.decoder(self.residuals(self.encoder(x)))  # 3 x 4*ceil(H/4) x 4*ceil(W/4)
        return y[..., :h, :w]
