"""Built-in plugin: the style-transfer family, Gatys optimisation, fast feed-forward (Johnson) and AdaIN.

All three measure style with a frozen VGG19 (`genstudio_style.vgg`): ImageNet weights found on disk (never
downloaded) or, with `features=random`, a seeded random network, a lower-quality offline mode. This module only
describes the backends (no torch); the code lives in `.gatys`, `.transformer`, `.adain`, `.train` and `.backend`,
reached through the loaders on first use. `stylize` below is the Python API for all three.
"""

from __future__ import annotations

from typing import Any

from genstudio import (
    BackendKind,
    BackendSpec,
    Capabilities,
    ConfigField,
    ConfigSchema,
    InputKind,
    InputSpec,
    WeightsRef,
    hookimpl,
)

__version__ = "0.1.0"

VGG19 = WeightsRef(name="vgg19", filename="vgg19-dcbb9e9d.pth", sha256_prefix="dcbb9e9d", setting="weights.vgg19")
GATYS_STYLE_LAYERS = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"  # Gatys 2016, section 3
JOHNSON_STYLE_LAYERS = "relu1_2,relu2_2,relu3_3,relu4_3"  # Johnson 2016, section 4.1
TRAIN_SIDE_HELP = "Training images are centre-cropped and scaled to this square side; any size at use time."


def _feature_fields() -> list[ConfigField]:
    return [
        ConfigField("features", "choice", "imagenet",
                    "Loss network weights: imagenet (torchvision's VGG19 file, never downloaded) or random (a "
                    "seeded random VGG19: a lower-quality offline mode).", choices=("imagenet", "random")),
        ConfigField("vgg_weights", "str", "",
                    "Path of vgg19-dcbb9e9d.pth; empty: the setting weights.vgg19, then the torch hub cache.",
                    label="VGG weights"),
    ]


def _use_fields(strength_help: str = "") -> list[ConfigField]:
    """Use-time defaults (the stylize call may override them); adain's strength is its alpha."""
    strength = [ConfigField("strength", "float", 1.0, strength_help, min=0.0, max=1.0)] if strength_help else []
    return strength + [
        ConfigField("preserve_color", "bool", False,
                    "Keep the content's colours: transfer luminance only (Gatys et al. 2016b).",
                    label="preserve colour"),
    ]


def _loss_fields(content_layers: str, style_layers: str, content_weight: float, style_weight: float,
                 tv_weight: float) -> list[ConfigField]:
    return [
        ConfigField("content_layers", "str", content_layers,
                    "VGG19 layers compared with the content, comma-separated; 'layer:weight' weighs one."),
        ConfigField("style_layers", "str", style_layers,
                    "VGG19 layers whose Gram matrices are matched to the style, comma-separated; 'layer:weight' "
                    "weighs one."),
        ConfigField("content_weight", "float", content_weight, "Weight of the content loss.", min=0.0, max=1e9),
        ConfigField("style_weight", "float", style_weight,
                    "Weight of the style loss (each layer relative to its style Gram's size).", min=0.0, max=1e9),
        ConfigField("tv_weight", "float", tv_weight, "Weight of the total-variation smoothness term.", min=0.0,
                    max=1e9, label="TV weight"),
    ]


GATYS_SCHEMA = ConfigSchema(
    _feature_fields()
    + _loss_fields("relu4_2", GATYS_STYLE_LAYERS, 1.0, 100.0, 0.1)
    + [
        ConfigField("optimizer", "choice", "lbfgs", "L-BFGS (Gatys 2016) or Adam.", choices=("lbfgs", "adam")),
        ConfigField("lr", "float", 0.02, "Adam's learning rate (pixel units); L-BFGS uses 1.", min=0.0, max=10.0,
                    label="learning rate"),
        ConfigField("steps", "int", 150, "Optimisation steps (at the coarsest scale; half as many at each finer one).",
                    min=1, max=100000),
        ConfigField("init", "choice", "content", "Start from the content image or from noise.",
                    choices=("content", "noise")),
        ConfigField("scales", "int", 1,
                    "Coarse-to-fine passes, each at twice the previous size with half the steps, ending at the "
                    "full size: 3 or 4 make a 2048 px image practical.", min=1, max=6),
        ConfigField("max_size", "int", 512, "Longer side of the output in pixels (the content is scaled down).",
                    min=16, max=8192, label="max size"),
        ConfigField("seed", "int", 0, "Seed of the noise start.", min=0, max=2**31 - 1),
    ]
    + _use_fields("Multiplies the style weight: 0 reconstructs the content, 1 is the configured transfer.")
)

FAST_STYLE_SCHEMA = ConfigSchema(
    [
        ConfigField("size", "choice", "standard",
                    "standard: Johnson et al.'s network; lite: fewer channels and depthwise-separable blocks, "
                    "several times faster.", choices=("standard", "lite")),
        ConfigField("style_image", "str", "", "The style image the network is trained for (genstudio train "
                    "--style).", label="style image"),
        ConfigField("resolution", "int", 256, TRAIN_SIDE_HELP, min=16,
                    max=1024),
        ConfigField("style_size", "int", 256, "Longer side the style image is scaled to for its Gram targets.",
                    min=16, max=2048, label="style size"),
        ConfigField("lr", "float", 1e-3, "Adam's learning rate.", min=0.0, max=1.0, label="learning rate"),
    ]
    + _feature_fields()
    + _loss_fields("relu3_3", JOHNSON_STYLE_LAYERS, 1.0, 50.0, 0.1)
    + _use_fields("Blend with the content in pixel space: 0 gives the content back, 1 the network's output.")
)

ADAIN_SCHEMA = ConfigSchema(
    [
        ConfigField("decoder", "choice", "standard",
                    "Decoder width: standard (the paper's) or lite (half the channels, about 4x less decoder "
                    "compute).", choices=("standard", "lite")),
        ConfigField("style_dir", "str", "", "Folder of style images to train on (genstudio train --styles).",
                    label="style folder"),
        ConfigField("resolution", "int", 256, TRAIN_SIDE_HELP, min=16,
                    max=1024),
        ConfigField("lr", "float", 1e-4, "Adam's learning rate (Huang & Belongie use 1e-4).", min=0.0, max=1.0,
                    label="learning rate"),
        ConfigField("style_weight", "float", 1.0,
                    "Weight lambda of the mean/std style loss; both losses are relative to their targets' size.",
                    min=0.0, max=1e9),
        ConfigField("alpha", "float", 1.0,
                    "Content/style trade-off in feature space: 0 content, 1 full style (stylize's strength).",
                    min=0.0, max=1.0),
        ConfigField("style_size", "int", 256, "Longer side a style image is scaled to before encoding.", min=16,
                    max=2048, label="style size"),
    ]
    + _feature_fields()
    + _use_fields()
)


CONTENT = InputSpec(InputKind.IMAGE, help="The photo or picture to restyle.")


@hookimpl
def register_backends() -> list[BackendSpec]:
    needs_vgg = (VGG19,)
    return [
        BackendSpec(
            id="gatys",
            kind=BackendKind.STYLIZER,
            name="Neural style (Gatys)",
            description=(
                "Optimisation-based style transfer (Gatys, Ecker & Bethge 2016): the output image is optimised to "
                "match the content's VGG19 features and the style's Gram matrices. Slow, no training, any style."
            ),
            loader="genstudio_style.backend:GATYS",
            schema=GATYS_SCHEMA,
            capabilities=Capabilities(trainable=False, exportable=False, tile_safe=False, reports_progress=True,
                                      pretrained_weights=needs_vgg),
            inputs=(CONTENT, InputSpec(InputKind.STYLE, help="The image whose style is transferred.")),
        ),
        BackendSpec(
            id="fast-style",
            kind=BackendKind.STYLIZER,
            name="Fast style (Johnson)",
            description=(
                "A feed-forward transformer network trained for one style with perceptual losses (Johnson, Alahi "
                "& Fei-Fei 2016), with instance norm and resize-convolution upsampling; any image size."
            ),
            loader="genstudio_style.backend:FAST_STYLE",
            schema=FAST_STYLE_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True, postprocesses=True,
                                      records_extra=True, pretrained_weights=needs_vgg),
            inputs=(CONTENT,),
        ),
        BackendSpec(
            id="adain",
            kind=BackendKind.STYLIZER,
            name="Arbitrary style (AdaIN)",
            description=(
                "Adaptive instance normalisation (Huang & Belongie 2017): VGG19 features to relu4_1 take the "
                "style's channel statistics and a trained decoder draws the image; any style image at use time."
            ),
            loader="genstudio_style.backend:ADAIN",
            schema=ADAIN_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True, postprocesses=True,
                                      prepares_style=True, records_extra=True, pretrained_weights=needs_vgg),
            inputs=(CONTENT, InputSpec(InputKind.STYLE, help="Any style image, given at use time.")),
        ),
    ]


def stylize(model: Any, content: Any, style: Any = None, **params: Any) -> Any:
    """Stylize one image; see `genstudio_style.api.stylize` (imports torch on first call)."""
    from genstudio_style.api import stylize as _stylize

    return _stylize(model, content, style, **params)
