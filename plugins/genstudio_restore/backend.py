"""The implementation `genstudio_restore.backend:RestoreBackend` names: `build(config)` (the saved restorer),
`create_training(config, data, device)` and `model_extra(config)` (which perceptual network the training used)."""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError
from genstudio_restore.networks import Restorer
from genstudio_restore.train import PERCEPTUAL_LAYERS, RestoreTask, learnt_tasks

SIZES = {"standard": (32, 4), "lite": (16, 3)}  # width, levels


def perceptual_choice(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """("imagenet" | "random" | "off", what model.json records): `auto` takes ImageNet VGG19 weights when they
    are found (genstudio.weights: --vgg-weights, the setting weights.vgg19, the torch hub cache), else none."""
    from genstudio_style.vgg import feature_reference

    wanted = config["perceptual"]
    if wanted == "off" or float(config["lambda_perceptual"]) == 0:
        return "off", {"perceptual": "off"}
    if wanted == "auto":
        try:
            reference, _ = feature_reference("imagenet", config["vgg_weights"])
        except UserError:
            return "off", {"perceptual": "off (auto: no VGG19 weights found)"}
        return "imagenet", {"perceptual": "imagenet", "feature_network": reference}
    reference, _ = feature_reference(wanted, config["vgg_weights"])
    return wanted, {"perceptual": wanted, "feature_network": reference}


class RestoreBackend:
    @staticmethod
    def build(config: dict[str, Any]) -> Restorer:
        width, levels = SIZES[config["size"]]
        return Restorer(int(config["width"]) or width, levels, learnt_tasks(config))

    @staticmethod
    def model_extra(config: dict[str, Any]) -> dict[str, Any]:
        learnt_tasks(config), learnt_tasks(config, "adv_tasks")  # a bad list fails before the data is read
        return perceptual_choice(config)[1]

    @staticmethod
    def create_training(config: dict[str, Any], data, device: torch.device) -> RestoreTask:
        from genstudio_style.vgg import load_vgg

        side, scale = int(config["resolution"]), int(config["scale"])
        if data.resolution != side:
            raise UserError(f"restore: the images are {data.resolution} px but the config says resolution={side}")
        if "upscale" in learnt_tasks(config) and (side % scale or side // scale < 4):
            raise UserError(f"restore: to learn {scale}x upscaling the resolution must be a multiple of {scale} "
                            f"and at least {4 * scale}, got {side}")
        if side < 3 * 2 ** int(config["d_layers"]) and float(config["lambda_adv"]) > 0:
            raise UserError(f"restore: {side} px images are too small for d_layers={config['d_layers']}")
        choice, _ = perceptual_choice(config)
        vgg = None
        if choice != "off":
            vgg = load_vgg(choice, PERCEPTUAL_LAYERS[-1], config["vgg_weights"]).to(device).eval()
        return RestoreTask(RestoreBackend.build(config).to(device), config, vgg)
