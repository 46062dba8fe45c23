"""An example genstudio plugin: copy this folder to start your own.

genstudio imports this module whenever it lists plugins (at CLI and app start), so it must stay light: import
only `genstudio` here, never torch. The hooks below describe what the plugin offers; the torch code lives in
`genstudio_example.plasma` and is imported the first time the backend is used, through `BackendSpec.loader`.

Three backends: `plasma`, a torch generator; `tinystyle`, an ONNX-only stylizer; and `plasma-onnx`, the plasma
generator as an ONNX-only backend. The ONNX graphs ship as package data (built by `build_graphs.py`): they run on
onnxruntime, numpy and Pillow, and genstudio never imports torch for them.
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

__version__ = "0.3.0"  # genstudio shows it, and passes the version a model was saved with to upgrade_model_config
GENSTUDIO_CONTRACT = "1.2"  # the plugin contract it is built for (1.2: ONNX-only generators): 1.x, x >= 2

# The ONNX-only backend's graph: the file it ships, and the sha256 genstudio checks before running it (printed by
# `python build_graphs.py`, which writes the file). A changed file fails the check in one line.
TINYSTYLE_GRAPH = WeightsRef(
    "tinystyle", "tinystyle.onnx",
    sha256="a4ce481b0692e2003e04065b40335915ce3802c19fd58941c07e375544a70fe6",
    bundled="genstudio_example:graphs/tinystyle.onnx",  # package data (see pyproject.toml)
    setting="weights.tinystyle",  # `genstudio` settings may point elsewhere (a retrained graph, same inputs)
)
TINYSTYLE_STYLES = ("ember", "glacier", "moss", "dusk")  # the graph's built-in styles, in its order
PLASMA_GRAPH = WeightsRef(  # the plasma generator's graph (64 px, 4 octaves, the fire ramp)
    "plasma-onnx", "plasma.onnx",
    sha256="1e67869fa083916e13f8c09251374094b5480bc4b74ce987945d1cd98611aa58",
    bundled="genstudio_example:graphs/plasma.onnx",
    setting="weights.plasma-onnx",
)

# The settings of the backend. They become `--set key=value` options in the CLI and a form in the app, and every
# config is checked against them before `build` sees it, so `build` can trust its input.
PLASMA_SCHEMA = ConfigSchema(
    [
        ConfigField("resolution", "int", 64, "Width and height of the images in pixels.", min=16, max=512),
        ConfigField("octaves", "int", 4, "Layers of noise, each twice as fine and half as strong.", min=1, max=6),
        ConfigField("colormap", "choice", "fire", "Colours of the texture.", choices=("fire", "ocean", "grey")),
    ]
)


@hookimpl
def register_backends() -> list[BackendSpec]:
    """One descriptor per backend: ids, text, settings, capabilities and the *name* of the implementation."""
    return [
        BackendSpec(
            id="plasma",  # unique across all plugins; saved in every model file
            kind=BackendKind.GENERATOR,  # the built module must provide latent_dim, num_classes, generate()
            name="Plasma textures",
            description=(
                "Fractal value-noise textures from a latent vector: octaves of smoothly interpolated random "
                "grids, as in the plasma of Fournier, Fussell & Carpenter (1982). No training."
            ),
            loader="genstudio_example.plasma:PlasmaBackend",  # "module:attr", imported on first use
            schema=PLASMA_SCHEMA,
            capabilities=Capabilities(trainable=False),
        ),
        BackendSpec(
            id="tinystyle",
            kind=BackendKind.STYLIZER,  # content image -> image
            name="Tiny styles (ONNX)",
            description=(
                "A small multi-style network shipped as an ONNX graph: one scale and shift per channel and style "
                "(Dumoulin et al. 2017), four built-in styles and any blend of them. Runs without torch."
            ),
            loader="genstudio_example.tinystyle:TinyStyle",  # light: says which graph runs, imports no torch
            schema=ConfigSchema([ConfigField("strength", "float", 1.0, "Blend toward the content below 1.",
                                             min=0.0, max=1.0)]),
            capabilities=Capabilities(runtime="onnx", pretrained_weights=(TINYSTYLE_GRAPH,), tile_safe=True),
            inputs=(InputSpec(InputKind.CHOICE, name="style", choices=TINYSTYLE_STYLES, blend=True,
                              help="A built-in style by name or index, or a blend such as ember:0.5,moss:0.5."),),
        ),
        BackendSpec(
            id="plasma-onnx",
            kind=BackendKind.GENERATOR,  # the graph takes z (batch x latent size) and gives images in [0, 1]
            name="Plasma textures (ONNX)",
            description=(
                "The plasma generator (64 px, 4 octaves, fire colours) shipped as an ONNX graph: genstudio draws "
                "its latents and runs it on onnxruntime, without torch."
            ),
            loader="genstudio_example.onnx_plasma:PlasmaOnnx",  # light: says which graph runs
            capabilities=Capabilities(trainable=False, runtime="onnx", pretrained_weights=(PLASMA_GRAPH,)),
        ),
    ]


@hookimpl
def upgrade_model_config(backend: str, plugin_version: str, config: dict[str, Any]) -> dict[str, Any] | None:
    """Read model files saved by older versions of the plugin, which called the `octaves` setting `levels`.

    genstudio calls this for every model it loads, whatever its backend, so answer only for your own backends
    and return None when nothing has to change (the first non-None answer wins).
    """
    if backend != "plasma" or "levels" not in config:
        return None
    upgraded = dict(config)
    upgraded["octaves"] = upgraded.pop("levels")
    return upgraded
