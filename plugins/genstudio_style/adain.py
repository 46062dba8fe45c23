"""Arbitrary style transfer with adaptive instance normalisation (Huang & Belongie, ICCV 2017).

    t = AdaIN(f(c), f(s))                 f: frozen VGG19 up to relu4_1 (eq. 8)
    t = alpha * t + (1 - alpha) * f(c)    content/style trade-off (section 7.1)
    t = sum_k w_k AdaIN(f(c), f(s_k))     interpolation between several styles (section 7.1)
    output = g(t)                         g: the trained decoder, mirroring the encoder with nearest upsampling

Only the decoder has parameters (and is what a model folder stores); the encoder's weights are non-persistent
buffers named in model.json. Colour preservation restores the content's chroma after decoding
(luminance-only transfer, Gatys et al. 2016b).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.errors import UserError
from genstudio_style.images import finish, fit_size, to_batch, to_output
from genstudio_style.losses import adain, mean_std
from genstudio_style.vgg import load_vgg

ENCODER_LAYER = "relu4_1"
STYLE_LOSS_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")  # Huang & Belongie 2017, section 6.2


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


DECODER_WIDTHS = {"standard": (256, 128, 64), "lite": (128, 64, 32)}  # lite: half the channels, ~1/4 compute


class Decoder(nn.Sequential):
    """N x 512 x H/8 x W/8 -> N x 3 x H x W: the encoder mirrored, pooling replaced by nearest x2 upsampling
    (Huang & Belongie 2017, section 6.1). Widths (c3, c2, c1) = (256, 128, 64) as in the paper, or half."""

    def __init__(self, size: str = "standard"):
        c3, c2, c1 = DECODER_WIDTHS[size]
        super().__init__(
            *_conv(512, c3), nn.Upsample(scale_factor=2, mode="nearest"),  # c3 x H/4 x W/4
            *_conv(c3, c3), *_conv(c3, c3), *_conv(c3, c3), *_conv(c3, c2),
            nn.Upsample(scale_factor=2, mode="nearest"),  # c2 x H/2 x W/2
            *_conv(c2, c2), *_conv(c2, c1),
            nn.Upsample(scale_factor=2, mode="nearest"),  # c1 x H x W
            *_conv(c1, c1), *_conv(c1, 3, relu=False),  # 3 x H x W
        )


class AdaINStylizer(nn.Module):
    """The encoder (frozen VGG19 to relu4_1) and the decoder; `stylize` takes any style image(s)."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        self.decoder = Decoder(config["decoder"])
        self.encoder = load_vgg(config["features"], ENCODER_LAYER, config["vgg_weights"])

    @property
    def device(self) -> torch.device:
        return self.encoder.mean.device

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W (H, W multiples of 8) -> N x 512 x H/8 x W/8."""
        return self.encoder(images, [ENCODER_LAYER])[ENCODER_LAYER]

    def style_statistics(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """relu4_1 channel means and stds of one style image (any size), each 1 x 512 x 1 x 1."""
        return mean_std(self.encode(fit_size(style, self.config["style_size"])))

    def transfer(self, content: torch.Tensor, statistics: Sequence[tuple[torch.Tensor, torch.Tensor]],
                 weights: Sequence[float], alpha: float | torch.Tensor) -> torch.Tensor:
        """Decode the weighted AdaIN of `content` (N x 3 x H x W, any size) towards the style statistics."""
        h, w = content.shape[-2:]
        # three poolings: reflect-pad to a multiple of 8, crop after. Always padded (by 0 when already a multiple)
        # so the ONNX trace keeps the amounts as functions of the input's size rather than one traced branch.
        content = F.pad(content, (0, (8 - w % 8) % 8, 0, (8 - h % 8) % 8), mode="reflect")
        features = self.encode(content)
        pairs = zip(weights, statistics, strict=True)
        target = sum(weight * adain(features, mean, std) for weight, (mean, std) in pairs)
        target = alpha * target + (1 - alpha) * features
        return self.decoder(target)[..., :h, :w]

    def prepare_style(self, style: torch.Tensor) -> torch.Tensor:
        """A style image (3 x H x W or 1 x 3 x H x W in [0, 1]) as the ONNX graph's `style` input expects it:
        scaled to `style_size`, as `style_statistics` does."""
        return fit_size(style if style.dim() == 4 else style[None], self.config["style_size"])

    def export_graphs(self) -> list:
        """genstudio's export recipe: one graph with inputs content (N x 3 x H x W), style (1 x 3 x Hs x Ws, from
        `prepare_style`) and alpha (1: the strength) and output image; colour preservation runs after it
        (`postprocess`). One style per graph call; several-style interpolation stays on the torch path."""
        from genstudio.export import ExportGraph, GraphInput

        inputs = [GraphInput("content", ("batch", 3, "height", "width"), sample="unit", size=48),
                  GraphInput("style", (1, 3, "style_height", "style_width"), sample="unit", size=40),
                  GraphInput("alpha", (1,), sample="unit")]
        return [ExportGraph("model", _OneStyleGraph(self), inputs, ["image"],
                            {"image": {0: "batch", 2: "height", 3: "width"}})]

    def postprocess(self, content: torch.Tensor, styled: torch.Tensor, *, strength: float,
                    preserve_color: bool) -> torch.Tensor:
        """What `stylize` does after the decoder, for outputs computed elsewhere (the strength went in as alpha)."""
        return finish(styled, content, 1.0, preserve_color)

    @torch.no_grad()
    def stylize(
        self,
        content: Any,  # PIL image, C x H x W tensor in [0, 1], or an image path
        style: Any = None,  # one image of those kinds, or a list of them to interpolate
        *,
        strength: float | None = None,  # alpha: 0 reconstructs the content, 1 is the full style; None: config's
        preserve_color: bool | None = None,  # None: the config's
        max_size: int | None = None,  # longer side of the output; None keeps the content's size
        style_weights: Sequence[float] | None = None,  # one per style, normalised to sum 1; None: equal
    ) -> Any:
        """The stylised image, the same type as `content` (PIL in, PIL out; tensor in, 3 x H x W tensor out)."""
        if style is None:
            raise UserError("adain needs a style image")
        styles = list(style) if isinstance(style, (list, tuple)) else [style]
        weights = [1.0] * len(styles) if style_weights is None else [float(w) for w in style_weights]
        if len(weights) != len(styles) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise UserError(f"style_weights needs {len(styles)} non-negative numbers with a positive sum, "
                            f"got {style_weights}")
        weights = [w / sum(weights) for w in weights]
        alpha = self.config["alpha"] if strength is None else float(strength)
        if not 0.0 <= alpha <= 1.0:
            raise UserError(f"strength (alpha) must be between 0 and 1, got {alpha}")
        preserve = self.config["preserve_color"] if preserve_color is None else bool(preserve_color)
        content_batch, as_pil = to_batch(content, "content")
        content_batch = fit_size(content_batch, max_size).to(self.device)
        statistics = [self.style_statistics(to_batch(item, "style")[0].to(self.device)) for item in styles]
        out = self.transfer(content_batch, statistics, weights, alpha)
        return to_output(finish(out, content_batch, 1.0, preserve), as_pil)


class _OneStyleGraph(nn.Module):
    """(content, style, alpha) -> image: encoding, AdaIN towards one style, the alpha blend and decoding."""

    def __init__(self, model: AdaINStylizer):
        super().__init__()
        self.model = model

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        statistics = mean_std(self.model.encode(style))
        return self.model.transfer(content, [statistics], [1.0], alpha.reshape(1, 1, 1, 1))
