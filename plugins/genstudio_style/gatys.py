"""Optimisation-based style transfer (Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural
Networks", CVPR 2016).

The output image's pixels are optimised so that its VGG19 features match the content image's at the content
layers and its Gram matrices match the style image's at the style layers, plus a total-variation term. Details:

  * losses are relative to the size of their targets (`losses.style_loss(relative=True)`), so the same default
    weights work with ImageNet and random features;
  * coarse to fine (Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in Neural Style
    Transfer", CVPR 2017, section 6): with `scales` = k the image is first optimised at 1/2^(k-1) of the size,
    then upsampled as the start of the next pass, and each finer pass gets half the steps of the one before
    (the coarsest gets `steps`): the coarse passes place the large structures cheaply, so a 2048 px output needs
    few steps at full size;
  * `preserve_color`: luminance-only transfer (Gatys et al. 2016b, arXiv:1606.05897): the optimisation runs on
    the luminance of the content and of the style (its mean and std matched to the content's), then the result's
    luminance is combined with the content's chroma;
  * `strength` multiplies the style weight;
  * while it runs, the current image is written every PREVIEW_SECONDS to a file in the cache folder and its path
    reported in the progress events' stats (`genstudio.events.PREVIEW`), so the app shows it as it forms.

The module holds only the frozen VGG19 (non-persistent buffers): it has no parameters and needs no model folder.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.errors import Cancelled, UserError
from genstudio.events import PREVIEW, AbortCheck, EventSink, Progress, null_sink
from genstudio_style.images import finish, fit_size, luminance, match_luminance, resize_to, to_batch, to_output
from genstudio_style.losses import gram_matrix, style_loss, total_variation
from genstudio_style.vgg import deepest, load_vgg, parse_layers

PREVIEW_SECONDS = 2.0  # at most one preview image per this many seconds of optimisation


def write_preview(image: torch.Tensor) -> str:
    """The 1 x 3 x H x W image in [0, 1] as a PNG in the cache folder (one file per process, rewritten
    atomically); returns its path."""
    import io

    from PIL import Image

    from genstudio import paths
    from genstudio.fileio import atomic_write_bytes

    pixels = image[0].detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    path = paths.cache_dir() / "previews" / f"gatys-{os.getpid()}.png"
    atomic_write_bytes(path, buffer.getvalue())
    return str(path)


def pass_steps(steps: int, index: int) -> int:
    """Steps of coarse-to-fine pass `index` (0 = the coarsest): halved at each finer pass, at least 1."""
    return max(1, steps >> index)


class GatysStylizer(nn.Module):
    """`stylize(content, style)` runs one optimisation; the config gives every default."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        self.content_layers = parse_layers(config["content_layers"], "content_layers")
        self.style_layers = parse_layers(config["style_layers"], "style_layers")
        self.vgg = load_vgg(config["features"], deepest([*self.content_layers, *self.style_layers]),
                            config["vgg_weights"])

    @property
    def device(self) -> torch.device:
        return self.vgg.mean.device

    def stylize(
        self,
        content: Any,  # PIL image, C x H x W tensor in [0, 1], or an image path
        style: Any = None,  # the same kinds; required
        *,
        strength: float | None = None,  # None: the config's; multiplies the style weight
        preserve_color: bool | None = None,  # None: the config's
        max_size: int | None = None,  # None: the config's; longer side of the output
        steps: int | None = None,  # None: the config's; at the coarsest scale (half as many at each finer one)
        progress: EventSink | None = None,  # receives begin / progress / end events
        abort: AbortCheck | None = None,  # polled every step; True raises genstudio.Cancelled
    ) -> Any:
        """The stylised image, the same type as `content` (PIL in, PIL out; tensor in, 3 x H x W tensor out)."""
        if style is None:
            raise UserError("gatys needs a style image")
        cfg = self.config
        strength = cfg["strength"] if strength is None else float(strength)
        preserve = cfg["preserve_color"] if preserve_color is None else bool(preserve_color)
        steps = cfg["steps"] if steps is None else int(steps)
        if not 0.0 <= strength <= 1.0:
            raise UserError(f"strength must be between 0 and 1, got {strength}")
        content_batch, as_pil = to_batch(content, "content")
        style_batch, _ = to_batch(style, "style")
        content_batch = fit_size(content_batch, max_size or cfg["max_size"]).to(self.device)
        style_batch = style_batch.to(self.device)
        work_content, work_style = content_batch, style_batch
        if preserve:  # luminance-only transfer: optimise grey images, recolour at the end
            content_y = luminance(content_batch)
            work_content = content_y.expand(-1, 3, -1, -1)
            work_style = match_luminance(luminance(style_batch), content_y).expand(-1, 3, -1, -1)
        total = sum(pass_steps(steps, index) for index in range(cfg["scales"]))
        reporter = Progress(progress, "Stylizing (gatys)", total=total, abort=abort)
        self._previewed = time.monotonic() - PREVIEW_SECONDS  # the first step shows a preview
        try:
            result = self._coarse_to_fine(work_content, work_style, steps, strength, reporter)
        except Cancelled:
            reporter.finish("cancelled")
            raise
        reporter.finish()
        return to_output(finish(result, content_batch, 1.0, preserve), as_pil)

    def _coarse_to_fine(self, content: torch.Tensor, style: torch.Tensor, steps: int, strength: float,
                        reporter: Progress) -> torch.Tensor:
        height, width = content.shape[-2:]
        image = None
        for index, scale in enumerate(range(self.config["scales"] - 1, -1, -1)):
            size = (max(16, height >> scale), max(16, width >> scale))
            scaled_content = resize_to(content, size)
            if image is None:
                image = self._initial(scaled_content)
            else:
                image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)
            style_side = max(16, max(size))
            style_scale = style_side / max(style.shape[-2:])
            scaled_style = resize_to(style, (max(16, round(style.shape[-2] * style_scale)),
                                             max(16, round(style.shape[-1] * style_scale))))
            image = self._optimise(image, scaled_content, scaled_style, pass_steps(steps, index), strength, reporter)
        return image

    def _initial(self, content: torch.Tensor) -> torch.Tensor:
        if self.config["init"] == "content":
            return content.clone()
        generator = torch.Generator().manual_seed(self.config["seed"])
        return torch.rand(content.shape, generator=generator).to(content.device)

    def _targets(self, content: torch.Tensor, style: torch.Tensor) -> tuple[dict, dict]:
        with torch.no_grad():
            content_features = self.vgg(content, list(self.content_layers))
            style_grams = {name: gram_matrix(f) for name, f in self.vgg(style, list(self.style_layers)).items()}
        return content_features, style_grams

    def _loss(self, image: torch.Tensor, content_targets: dict, style_targets: dict, strength: float
              ) -> torch.Tensor:
        cfg = self.config
        layers = [*self.content_layers, *(name for name in self.style_layers if name not in self.content_layers)]
        features = self.vgg(image, layers)
        loss = torch.zeros((), device=image.device)
        for name, weight in self.content_layers.items():  # relative content loss: ||F - P||^2 / ||P||^2
            target = content_targets[name]
            loss = loss + cfg["content_weight"] * weight * torch.mean((features[name] - target) ** 2) / torch.mean(
                target ** 2).clamp_min(1e-12)
        grams = {name: gram_matrix(features[name]) for name in self.style_layers}
        loss = loss + strength * cfg["style_weight"] * style_loss(grams, style_targets, self.style_layers)
        return loss + cfg["tv_weight"] * total_variation(image)

    def _optimise(self, start: torch.Tensor, content: torch.Tensor, style: torch.Tensor, steps: int,
                  strength: float, reporter: Progress) -> torch.Tensor:
        content_targets, style_targets = self._targets(content, style)
        image = start.detach().clone().clamp(0, 1).requires_grad_(True)
        if self.config["optimizer"] == "lbfgs":
            optimizer: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=20)
        else:
            optimizer = torch.optim.Adam([image], lr=self.config["lr"])
        last = {"loss": float("nan")}

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = self._loss(image, content_targets, style_targets, strength)
            loss.backward()
            last["loss"] = loss.item()
            return loss

        watched = reporter.sink is not null_sink
        for step in range(steps):
            reporter.check_abort()
            optimizer.step(closure)
            with torch.no_grad():
                image.clamp_(0, 1)
            stats: dict[str, Any] = {"loss": last["loss"], "size": f"{image.shape[-1]}x{image.shape[-2]}"}
            if watched and (time.monotonic() - self._previewed >= PREVIEW_SECONDS or step == steps - 1):
                stats[PREVIEW] = write_preview(image)
                self._previewed = time.monotonic()
            reporter.update(advance=1, **stats)
        return image.detach()
