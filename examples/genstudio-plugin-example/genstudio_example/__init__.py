"""An example genstudio plugin: copy this folder to start your own.

genstudio imports this module whenever it lists plugins (at CLI and app start), so it must stay light: import
only `genstudio` here, never torch. The hooks below describe what the plugin offers; the torch code lives in
`genstudio_example.plasma` and is imported the first time the backend is used, through `BackendSpec.loader`.
"""

from __future__ import annotations

from typing import Any

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, hookimpl

__version__ = "0.1.0"  # genstudio shows it, and passes the version a model was saved with to upgrade_model_config

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
        )
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
