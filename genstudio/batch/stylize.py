"""Image-to-image: one opened stylizer or translator (`open_stylizer`) that the folder pipeline (`stylize_folder`,
behind `genstudio stylize` / `genstudio translate` and their jobs) and the app's single-image action both run, so
the same request gives the same pixels and the same provenance wherever it starts.

A stylizer or translator is a trained model folder, a backend id that needs no training (`gatys`), or an ONNX-only
backend (`Capabilities(runtime="onnx")`: graphs it ships or finds in a model folder). Its inputs are declared
(`BackendSpec.inputs`: the `input` image, a `style` image for arbitrary-style backends, a `direction` for two-way
translators, a `choice` such as a multi-style network's built-in styles); a translator's module gets
`translate(x, direction)`; a stylizer's use-time settings (`strength`, `preserve_color`) come from, in order: the
request's own value, the settings (`--set` for a backend id; a model folder's saved config), the schema's default.
The network always receives N x 3 x H x W images in [0, 1] (one image a call on the torch runtime) and the settings
explicitly; a choice input's value reaches a torch module as a keyword argument named as the input.

Torch-free path: an ONNX-only backend, and a model folder whose checked export runs (`--runtime auto|onnx`) when
its backend needs no torch code around the graph (no `postprocesses`; no `prepares_style` with a style image),
run on onnxruntime, numpy and Pillow: torch is never imported. Everything that needs torch lives in
`genstudio.batch.torch_stylize`, imported only when a torch module runs.

Runtime honesty: `--runtime onnx` needs a model folder with a parity-checked export (or an ONNX-only backend) and
is refused otherwise; `--runtime torch` is refused for an ONNX-only backend; `--provider` other than auto applies
to onnxruntime and is refused when the torch runtime runs; provenance records the runtime and device that ran.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.backends import IMAGE_KINDS, BackendKind
from genstudio.batch.inputs import Item, collect
from genstudio.batch.pipeline import BatchSummary, InnerProgress, Processor, run_batch
from genstudio.batch.stylizer import (  # noqa: F401 (ONNX_BATCH, Engine: importable from here as before)
    ONNX_BATCH,
    Engine,
    OnnxEngine,
    Stylizer,
    linear_blend,
    onnx_batch,
    onnx_feeds,
    read_pixels,
)
from genstudio.errors import PluginError, UserError
from genstudio.events import AbortCheck, EventSink
from genstudio.inputs import InputKind

USE_SETTINGS = {"strength": (("strength", "alpha"), 1.0), "preserve_color": (("preserve_color",), False)}


def use_setting(name: str, given: Any, settings: dict[str, Any]) -> Any:
    """A use-time setting: the request's value, else the settings' (under its name or its alias), else default."""
    if given is not None:
        return given
    keys, default = USE_SETTINGS[name]
    return next((settings[key] for key in keys if key in settings), default)


def read_rgb(path: str | os.PathLike[str]):
    """An image file as a 3 x H x W torch tensor in [0, 1] (torch code only; `read_pixels` is the array)."""
    from genstudio.batch.torch_stylize import read_rgb as read

    return read(path)


def _use_params(spec: Any, inputs: dict[str, Any], strength: float | None, preserve_color: bool | None,
                settings: dict[str, Any]) -> dict[str, Any]:
    """The parameters the network runs with (and provenance records): a stylizer's strength and colour setting or
    a translator's direction, plus every choice input's value. Takes the value inputs out of `inputs`."""
    if spec.kind == BackendKind.TRANSLATOR:
        if strength is not None or preserve_color is not None:
            raise UserError(f"backend {spec.id!r} is a translator: --strength and --preserve-color apply to "
                            "stylizers")
        direction_spec = spec.input(InputKind.DIRECTION)
        params = {"direction": inputs.pop(direction_spec.name)} if direction_spec else {}
    else:
        params = {"strength": float(use_setting("strength", strength, settings)),
                  "preserve_color": bool(use_setting("preserve_color", preserve_color, settings))}
        if not 0.0 <= params["strength"] <= 1.0:
            raise UserError(f"strength must be between 0 and 1, got {params['strength']}")
    for entry in spec.inputs:
        if entry.kind == InputKind.CHOICE:
            params[entry.name] = inputs.pop(entry.name)
    return params


def open_stylizer(
    model_or_backend: str | os.PathLike[str],
    *,
    style: str | os.PathLike[str] | None = None,  # the style image, or a choice input named style (NAME | INDEX)
    direction: str | None = None,  # a translator's declared direction; None: its first choice
    choices: dict[str, Any] | None = None,  # values of declared choice inputs by name (None: their first choice)
    strength: float | None = None,  # None: the settings' (config strength / alpha), else 1
    preserve_color: bool | None = None,  # None: the settings', else False
    assignments: list[str] = (),  # --set key=value for a backend id
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping (reproduce, the app), under --set
    device: str = "auto",  # the torch runtime's device (an ONNX graph runs on `provider`)
    runtime: str = "auto",  # auto | torch | onnx
    provider: str = "auto",
) -> Stylizer:
    """Load and check a stylizer and everything it needs to run; UserError for what the user can fix."""
    from genstudio.inputs import resolve_inputs
    from genstudio.models import resolve_target
    from genstudio.onnx_runtime import check_runtime_request, choose_runtime

    target = resolve_target(model_or_backend, IMAGE_KINDS, "a stylizer or translator", config=config,
                            assignments=assignments)
    spec = target.spec
    given = {"style": str(style) if style is not None else None, "direction": direction, **(choices or {})}
    inputs = resolve_inputs(spec.id, spec.inputs, given, provided_elsewhere=("input",))
    inputs.pop("input", None)
    params = _use_params(spec, inputs, strength, preserve_color, target.settings)
    style_spec = spec.input(InputKind.STYLE)
    style_path = inputs.get(style_spec.name) if style_spec else None
    if spec.capabilities.runtime == "onnx":
        return _open_onnx_only(target, params, inputs, style_path, runtime, provider)
    runtime_used, onnx_path = ("torch", None) if target.folder is None else choose_runtime(runtime, target.folder,
                                                                                           target.card)
    check_runtime_request(runtime_used, runtime, provider, target.what)
    caps = spec.capabilities
    needs_module = runtime_used == "torch" or caps.postprocesses or (caps.prepares_style and style_path is not None)
    if needs_module:  # torch runs: the module itself, or its code around the graph
        from genstudio.batch.torch_stylize import open_torch_stylizer

        return open_torch_stylizer(target, params, inputs, style_path, device, onnx_path, provider)
    from genstudio.onnx_runtime import open_session

    session = open_session(onnx_path, provider)
    style = read_pixels(style_path)[None] if style_path is not None else None
    feeds = onnx_feeds(spec, session, params, style)
    finish = linear_blend(1.0 if "alpha" in feeds else params.get("strength", 1.0))
    engine = OnnxEngine(session, spec.input(InputKind.IMAGE).graph_input, feeds, finish)
    return Stylizer(spec, target, params, inputs, "onnx", session.describe(), engine,
                    max_batch=onnx_batch(session.provider), model_sha256=target.card.weights_sha256,
                    session=session)


def _open_onnx_only(target: Any, params: dict[str, Any], inputs: dict[str, Any], style_path: Path | None,
                    runtime: str, provider: str) -> Stylizer:
    """An ONNX-only backend: its graph found (`genstudio.onnx_backends`) and checked by sha256, run without torch."""
    from genstudio.onnx_backends import open_graph

    spec = target.spec
    if (runtime or "auto").lower() == "torch":
        raise UserError(f"backend {spec.id!r} is ONNX-only (plugin {spec.plugin}): it runs on onnxruntime; drop "
                        "--runtime torch")
    if params.get("preserve_color"):
        raise UserError(f"backend {spec.id!r} is ONNX-only and cannot preserve the content's colours; drop "
                        "--preserve-color")
    graph = open_graph(target, provider)
    session = graph.session
    image_input = spec.input(InputKind.IMAGE).graph_input
    style = read_pixels(style_path)[None] if style_path is not None else None
    feeds = onnx_feeds(spec, session, params, style)
    declared = [entry.graph_input for entry in spec.inputs
                if entry.kind != InputKind.LABEL and (entry.kind != InputKind.STYLE or style is not None)]
    missing = [name for name in [image_input, *declared] if name not in session.input_names]
    if missing:  # the plugin's declaration and its graph disagree: its bug, not the user's
        raise PluginError(spec.plugin, spec.id, ValueError(
            f"{graph.path.name} has no input {', '.join(map(repr, missing))} (it takes "
            f"{', '.join(session.input_names)})"))
    finish = linear_blend(1.0 if "alpha" in feeds else params.get("strength", 1.0))
    engine = OnnxEngine(session, image_input, feeds, finish)
    return Stylizer(spec, target, params, inputs, "onnx", session.describe(), engine,
                    max_batch=onnx_batch(session.provider), files=graph.files, model_sha256=graph.sha256,
                    session=session)


def stylize_folder(
    model_or_backend: str,
    inputs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    style: str | os.PathLike[str] | None = None,  # the style image, or the choice named style, for backends with one
    direction: str | None = None,  # a two-way translator's direction
    choices: dict[str, Any] | None = None,  # values of declared choice inputs by name
    strength: float | None = None,  # None: the settings' value (see the module docstring)
    preserve_color: bool | None = None,  # None: the settings' value
    assignments: list[str] = (),  # --set key=value for a backend id
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping (reproduce), under assignments
    device: str = "auto",
    runtime: str = "auto",  # auto | torch | onnx
    provider: str = "auto",
    recursive: bool = False,
    pattern: str | None = None,
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
    **batch_options: Any,  # fmt, quality, overwrite, max_size, tile, overlap, workers, report_file
) -> BatchSummary:
    stylizer = open_stylizer(model_or_backend, style=style, direction=direction, choices=choices, strength=strength,
                             preserve_color=preserve_color, assignments=assignments, config=config, device=device,
                             runtime=runtime, provider=provider)
    if batch_options.get("tile") and not stylizer.spec.capabilities.tile_safe:
        raise UserError(f"backend {stylizer.spec.id!r} is not tile-safe (each tile would be styled on its own): "
                        "drop --tile, or use --max-size")
    items, passed_over = collect(list(inputs), out, recursive=recursive, pattern=pattern)
    if not items and not passed_over:
        raise UserError("no input images found")

    def record(item: Item, digest: str) -> dict[str, Any]:
        return stylizer.record(digest)

    inner = InnerProgress()  # a long optimisation's steps (reports_progress): a fraction of the image it makes

    def run(batch: np.ndarray) -> np.ndarray:
        return stylizer.run(batch, progress=inner, abort=abort)

    verb = "Translating" if stylizer.operation == "translate" else "Stylizing"
    processor = Processor(f"{verb} with {stylizer.spec.id}", run, record, max_batch=stylizer.max_batch,
                          tileable=stylizer.spec.capabilities.tile_safe, owner=stylizer.owner, inner=inner)
    return run_batch(items, processor, out, passed_over=passed_over, progress=progress, abort=abort, **batch_options)
