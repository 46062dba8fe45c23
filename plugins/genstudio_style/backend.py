"""The implementations the style family's loaders name: `genstudio_style.backend:GATYS`, `:FAST_STYLE`, `:ADAIN`.

`build(config)` gives the stylizer module (a model folder's weights are loaded into it; gatys has none and runs
straight from a config). `create_training` gives the training task. `model_extra(config)` is what model.json
records besides the weights: the feature network by name and hash (or seed), and the style image's hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genstudio.errors import UserError
from genstudio.fileio import sha256_file
from genstudio_style.adain import AdaINStylizer
from genstudio_style.fast_style import FastStylizer
from genstudio_style.gatys import GatysStylizer
from genstudio_style.images import fit_size, to_batch
from genstudio_style.train import AdaINTask, FastStyleTask, deepest_layer
from genstudio_style.vgg import feature_reference, load_vgg


class GatysBackend:
    """Optimisation only: nothing to train or export."""

    def build(self, config: dict[str, Any]) -> GatysStylizer:
        return GatysStylizer(config)


class FastStyleBackend:
    """One transformer network per style image."""

    def build(self, config: dict[str, Any]) -> FastStylizer:
        return FastStylizer(config)  # no VGG: a trained model runs without the loss network's weights

    def model_extra(self, config: dict[str, Any]) -> dict[str, Any]:
        reference, _ = feature_reference(config["features"], config["vgg_weights"])
        extra: dict[str, Any] = {"feature_network": reference}
        if config["style_image"]:
            if not Path(config["style_image"]).is_file():
                raise UserError(f"fast-style: the style image {config['style_image']} does not exist")
            extra["style_image"] = {"name": Path(config["style_image"]).name,
                                    "sha256": sha256_file(config["style_image"])}
        return extra

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> FastStyleTask:
        if not config["style_image"]:
            raise UserError("fast-style trains for one style image: pass --style IMAGE (config style_image)")
        vgg = load_vgg(config["features"], deepest_layer(config), config["vgg_weights"]).to(device)
        style, _ = to_batch(config["style_image"], "style image")
        style = fit_size(style, config["style_size"]).to(device)
        return FastStyleTask(self.build(config).to(device), vgg, style, config)


class AdaINBackend:
    """A decoder trained on a content folder and a style folder; any style at use time."""

    def build(self, config: dict[str, Any]) -> AdaINStylizer:
        return AdaINStylizer(config)

    def model_extra(self, config: dict[str, Any]) -> dict[str, Any]:
        if config["style_dir"] and not Path(config["style_dir"]).is_dir():
            raise UserError(f"adain: the style folder {config['style_dir']} does not exist")
        reference, _ = feature_reference(config["features"], config["vgg_weights"])
        return {"feature_network": reference}

    def create_training(self, config: dict[str, Any], data, device: torch.device) -> AdaINTask:
        from genstudio.data import ImageFolderDataset

        if not config["style_dir"]:
            raise UserError("adain trains on a folder of style images: pass --styles DIR (config style_dir)")
        styles = ImageFolderDataset(config["style_dir"], config["resolution"], 3, cache=False)
        images = torch.stack([styles[index][0] for index in range(len(styles))]).to(device)  # S x 3 x R x R
        return AdaINTask(self.build(config).to(device), images, config)


GATYS = GatysBackend()
FAST_STYLE = FastStyleBackend()
ADAIN = AdaINBackend()
