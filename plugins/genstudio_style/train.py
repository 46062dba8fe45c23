"""Training tasks (genstudio's TrainingTask contract) for the two trainable stylizers.

FastStyleTask: Johnson, Alahi & Fei-Fei 2016, section 3: the transformer network is trained on content images
    with the perceptual loss  l = w_c l_content(relu3_3) + w_s sum_l l_style(Gram, layer l) + w_tv TV,
    measured by a frozen VGG19, against one style image's Gram matrices computed once.
AdaINTask: Huang & Belongie 2017, section 6.2: the decoder g is trained with  l = l_c + lambda l_s,
    l_c = ||f(g(t)) - t||^2 (eq. 12) and l_s the relu1_1..relu4_1 mean/std loss (eq. 13), one random style
    image from the style folder per content image. Both terms are relative to the size of their targets (as
    the Gram losses are), so lambda means the same with ImageNet and random features.

The content folder is the runtime's dataset; style images come through the config. The VGG is no module of the
task (it has no trainable weights and is never checkpointed). Sample grids show the first content images the
task was given (captured from the first batch) above their stylised versions.
"""

from __future__ import annotations

from typing import Any

import torch

from genstudio_style.adain import ENCODER_LAYER, STYLE_LOSS_LAYERS, AdaINStylizer
from genstudio_style.fast_style import FastStylizer
from genstudio_style.losses import adain, gram_matrix, mean_std, mean_std_loss, style_loss, total_variation
from genstudio_style.vgg import VGGFeatures, deepest, parse_layers

SAMPLE_CONTENT = 4  # content images kept for the sample grid


def rgb(images: torch.Tensor) -> torch.Tensor:
    """Grey batches (N x 1 x H x W) repeated to RGB."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class _SampledTask:
    """Keeps the first content images seen, for sample grids that show the same pictures each time."""

    sample_content: torch.Tensor | None = None

    def _remember(self, images: torch.Tensor) -> None:
        if self.sample_content is None:
            self.sample_content = images[:SAMPLE_CONTENT].detach().clone()

    def _grid(self, content: torch.Tensor, stylized: torch.Tensor, count: int) -> torch.Tensor:
        pairs = torch.cat([content, stylized.float().clamp(0, 1)])  # 2K x 3 x H x W: contents, then outputs
        return pairs[:max(count, 1)]

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        return self.modules["net"]


class FastStyleTask(_SampledTask):
    """The transformer network and its Adam optimizer; the VGG and the style's Gram targets alongside."""

    ema_module = None

    def __init__(self, net: FastStylizer, vgg: VGGFeatures, style: torch.Tensor, config: dict[str, Any]):
        self.modules: dict[str, torch.nn.Module] = {"net": net}
        self.optimizers = {"net": torch.optim.Adam(net.parameters(), lr=config["lr"])}
        self.vgg = vgg
        self.config = config
        self.content_layers = parse_layers(config["content_layers"], "content_layers")
        self.style_layers = parse_layers(config["style_layers"], "style_layers")
        with torch.no_grad():  # style targets: 1 x C x C per layer, broadcast over the batch
            self.style_grams = {name: gram_matrix(f) for name, f in vgg(style, list(self.style_layers)).items()}

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        content = rgb(batch[0])
        self._remember(content)
        net, cfg = self.modules["net"], self.config
        net.train()
        layers = list(dict.fromkeys([*self.content_layers, *self.style_layers]))
        with ctx.autocast():
            out = net(content)  # N x 3 x H x W
            with torch.no_grad():
                targets = self.vgg(content, list(self.content_layers))
            features = self.vgg(out, layers)
            content_term = sum(weight * torch.mean((features[name].float() - targets[name].float()) ** 2)
                               / torch.mean(targets[name].float() ** 2).clamp_min(1e-12)
                               for name, weight in self.content_layers.items())
            grams = {name: gram_matrix(features[name]) for name in self.style_layers}
            style_term = style_loss(grams, self.style_grams, self.style_layers)
            tv = total_variation(out.float())
            loss = cfg["content_weight"] * content_term + cfg["style_weight"] * style_term + cfg["tv_weight"] * tv
        ctx.backward_and_step(loss, "net")
        return {"loss": float(loss.detach()), "content": float(content_term.detach()),
                "style": float(style_term.detach()), "tv": float(tv.detach())}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        content = self.sample_content
        if content is None:  # no step yet: smooth random pictures from `generator`
            content = torch.rand(SAMPLE_CONTENT, 3, 8, 8, generator=generator, device=generator.device)
            content = torch.nn.functional.interpolate(content, size=64, mode="bilinear").to(self.vgg.mean.device)
        return self._grid(content, module(content), count)


def content_statistics(images: torch.Tensor, encoder: VGGFeatures) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {name: mean_std(f) for name, f in encoder(images, list(STYLE_LOSS_LAYERS)).items()}


class AdaINTask(_SampledTask):
    """The decoder's Adam optimizer; the whole AdaIN module is the one module (its encoder has no state)."""

    ema_module = None

    def __init__(self, model: AdaINStylizer, styles: torch.Tensor, config: dict[str, Any]):
        self.modules: dict[str, torch.nn.Module] = {"net": model}
        self.optimizers = {"net": torch.optim.Adam(model.decoder.parameters(), lr=config["lr"])}
        self.styles = styles  # S x 3 x R x R style images in [0, 1], on the device
        self.style_weight = config["style_weight"]

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        content = rgb(batch[0])
        self._remember(content)
        model = self.modules["net"]
        model.train()
        picks = torch.randint(len(self.styles), (len(content),))  # the runtime seeds and checkpoints this RNG
        style = self.styles[picks.to(self.styles.device)]
        encoder = model.encoder
        with ctx.autocast():
            with torch.no_grad():
                style_targets = content_statistics(style, encoder)
                mean, std = style_targets[ENCODER_LAYER]
                target = adain(model.encode(content), mean, std)  # t, N x 512 x H/8 x W/8
            out = model.decoder(target)  # g(t), N x 3 x H x W
            features = encoder(out, list(STYLE_LOSS_LAYERS))
            content_term = (torch.mean((features[ENCODER_LAYER].float() - target) ** 2)
                            / torch.mean(target ** 2).clamp_min(1e-12))
            style_term = mean_std_loss(features, style_targets, relative=True)
            loss = content_term + self.style_weight * style_term
        ctx.backward_and_step(loss, "net")
        return {"loss": float(loss.detach()), "content": float(content_term.detach()),
                "style": float(style_term.detach())}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        content = self.sample_content
        if content is None:
            content = torch.rand(SAMPLE_CONTENT, 3, 64, 64, generator=generator, device=generator.device)
            content = content.to(self.styles.device)
        styles = self.styles[torch.arange(len(content)) % len(self.styles)]
        statistics = [module.style_statistics(style[None]) for style in styles]
        out = torch.cat([module.transfer(image[None], [stats], [1.0], 1.0) for image, stats in
                         zip(content, statistics, strict=True)])
        return self._grid(content, out, count)


def deepest_layer(config: dict[str, Any]) -> str:
    """The deepest VGG layer fast-style's losses use."""
    layers = [*parse_layers(config["content_layers"], "content_layers"),
              *parse_layers(config["style_layers"], "style_layers")]
    return deepest(layers)
