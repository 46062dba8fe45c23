"""Image-to-image: one opened stylizer or translator (`open_stylizer`) that the folder pipeline (`stylize_folder`,
behind `genstudio stylize` / `genstudio translate` and their jobs) and the app's single-image action both run, so
the same request gives the same pixels and the same provenance wherever it starts.

A stylizer or translator is a trained model folder or a backend id that needs no training (`gatys`). Its inputs
are declared (`BackendSpec.inputs`: the `input` image, a `style` for arbitrary-style backends, a `direction` for
two-way translators); a translator's module gets `translate(x, direction)`; a stylizer's use-time settings
(`strength`, `preserve_color`) come from, in order: the request's own value, the settings (`--set` for a backend
id; a model folder's saved config), the schema's default. The module always receives N x 3 x H x W tensors in
[0, 1] (one image a call on the torch runtime) and the settings explicitly.

Runtime honesty: `--runtime onnx` needs a model folder with a parity-checked export and is refused otherwise;
`--provider` other than auto applies to onnxruntime and is refused when the torch runtime runs; provenance
records the runtime and device that actually ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genstudio.backends import IMAGE_KINDS, BackendKind
from genstudio.batch.inputs import Item, collect
from genstudio.batch.pipeline import BatchSummary, Processor, run_batch
from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink
from genstudio.inputs import InputKind

ONNX_BATCH = 8  # images of one size per onnxruntime call on a GPU provider (the torch path runs one at a time)
USE_SETTINGS = {"strength": (("strength", "alpha"), 1.0), "preserve_color": (("preserve_color",), False)}


def onnx_batch(provider: str) -> int:  # provider: a Session's short name, "cpu" | "cuda" | "tensorrt"
    """Images per onnxruntime call. On the CPU provider one: a 512 px image already gives the convolutions all
    the parallelism the cores take, and larger batches only spill the caches (fast-style lite on 2 cores: 14.0
    images/s at batch 1, 12.0 at batch 8; standard: equal within noise; bench/throughput.py)."""
    return 1 if provider == "cpu" else ONNX_BATCH


def use_setting(name: str, given: Any, settings: dict[str, Any]) -> Any:
    """A use-time setting: the request's value, else the settings' (under its name or its alias), else default."""
    if given is not None:
        return given
    keys, default = USE_SETTINGS[name]
    return next((settings[key] for key in keys if key in settings), default)


def read_rgb(path: str | os.PathLike[str]) -> torch.Tensor:
    """An image file (through the format allowlist) as 3 x H x W float in [0, 1]."""
    from genstudio.data import open_image

    return torch.from_numpy(np.asarray(open_image(path, "RGB")).copy()).permute(2, 0, 1).float() / 255


@dataclass
class Stylizer:
    """An opened stylizer: the module on its runtime, the effective settings and inputs, and the provenance."""

    spec: Any  # BackendSpec
    module: Any  # the torch module (also on the ONNX runtime: it prepares the style and post-processes)
    loaded: Any  # LoadedModel, or None for a backend id
    settings: dict[str, Any]  # the config it runs with
    params: dict[str, Any]  # the effective use-time settings: strength, preserve_color; a translator's direction
    inputs: dict[str, Any]  # declared inputs besides the content: {"style": Path | None, ...}
    runtime: str  # "torch" | "onnx"
    device_text: str  # what ran it, for provenance
    torch_device: Any = None
    session: Any = None  # onnxruntime Session on the onnx runtime
    _feeds: dict[str, np.ndarray] = field(default_factory=dict)
    _style: torch.Tensor | None = None

    @property
    def owner(self) -> tuple[str, str]:
        return (self.spec.plugin, self.spec.id)

    @property
    def operation(self) -> str:
        """What provenance calls it: "stylize" or "translate"."""
        return "translate" if self.spec.kind == BackendKind.TRANSLATOR else "stylize"

    @property
    def max_batch(self) -> int:
        return onnx_batch(self.session.provider) if self.runtime == "onnx" else 1

    def run(self, batch: torch.Tensor, **extra: Any) -> torch.Tensor:
        """N x 3 x H x W in [0, 1] -> the stylized N x 3 x H' x W' in [0, 1] (on the CPU). `extra` (progress,
        abort) reaches modules that declare `reports_progress`."""
        if self.runtime == "onnx":
            image_input = self.spec.input(InputKind.IMAGE).graph_input
            result = torch.from_numpy(self.session.run({image_input: batch.numpy(), **self._feeds})[0])
            return self._finish(batch, result)
        if not self.spec.capabilities.reports_progress:
            extra = {}
        if self.spec.kind == BackendKind.TRANSLATOR:
            results = [self.module.translate(image[None].to(self.torch_device), self.params.get("direction"),
                                             **extra) for image in batch]
            return torch.cat([torch.as_tensor(r).float().clamp(0, 1).cpu() for r in results])
        style = self._style.to(self.torch_device) if self._style is not None else None
        results = [self.module.stylize(image[None].to(self.torch_device), style, **self.params, **extra)
                   for image in batch]
        return torch.cat([torch.as_tensor(r).reshape(1, *r.shape[-3:]).float().cpu() for r in results])

    def _finish(self, content: torch.Tensor, styled: torch.Tensor) -> torch.Tensor:
        """What the torch path does inside `stylize` for strength and colour, after an ONNX graph: the module's
        declared `postprocess`, else a linear blend toward the content."""
        if self.spec.capabilities.postprocesses:
            return self.module.postprocess(content, styled, **self.params)
        styled, strength = styled.clamp(0, 1), self.params.get("strength", 1.0)
        return content + strength * (styled - content) if strength < 1 else styled

    def record(self, input_sha256: str | None, input_path: str | None = None) -> dict[str, Any]:
        """The provenance of one output (its time is added by `provenance`)."""
        from genstudio.inputs import provenance_fields
        from genstudio.provenance import provenance

        spec, loaded = self.spec, self.loaded
        return provenance(
            backend=spec.id, plugin=spec.plugin, plugin_version=spec.plugin_version,
            model_sha256=loaded.card.weights_sha256 if loaded is not None else None,
            parameters={**self.params, "config": self.settings}, runtime=self.runtime, device=self.device_text,
            operation=self.operation, input_sha256=input_sha256,
            **{**provenance_fields(spec.inputs, self.inputs, skip=("input",)),
               **({"input": input_path} if input_path else {})},
            model=str(Path(loaded.folder).resolve()) if loaded is not None else spec.id,
        )


def open_stylizer(
    model_or_backend: str | os.PathLike[str],
    *,
    style: str | os.PathLike[str] | None = None,  # the style image, for backends that declare a style input
    direction: str | None = None,  # a translator's declared direction; None: its first choice
    strength: float | None = None,  # None: the settings' (config strength / alpha), else 1
    preserve_color: bool | None = None,  # None: the settings', else False
    assignments: list[str] = (),  # --set key=value for a backend id
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping (reproduce, the app), under --set
    device: str = "auto",
    runtime: str = "auto",  # auto | torch | onnx
    provider: str = "auto",
) -> Stylizer:
    """Load and check a stylizer and everything it needs to run; UserError for what the user can fix."""
    from genstudio.devices import describe_device, resolve_device
    from genstudio.inputs import resolve_inputs
    from genstudio.models import open_model_or_backend
    from genstudio.onnx_runtime import check_runtime_request, choose_runtime, open_session

    torch_device = resolve_device(device)
    opened = open_model_or_backend(model_or_backend, IMAGE_KINDS, "a stylizer or translator", device=torch_device,
                                   config=config, assignments=assignments)
    spec, module, loaded, settings = opened.spec, opened.module, opened.loaded, opened.settings
    inputs = resolve_inputs(spec.id, spec.inputs, {"style": style, "direction": direction},
                            provided_elsewhere=("input",))
    inputs.pop("input", None)
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
    style_spec = spec.input(InputKind.STYLE)
    style_tensor = read_rgb(inputs[style_spec.name]) if style_spec and inputs.get(style_spec.name) else None
    runtime_used, onnx_path = ("torch", None) if loaded is None else choose_runtime(runtime, loaded.folder,
                                                                                   loaded.card)
    check_runtime_request(runtime_used, runtime, provider, opened.what)
    stylizer = Stylizer(spec, module, loaded, settings, params, inputs, runtime_used, "", torch_device,
                        _style=style_tensor)
    if runtime_used == "onnx":
        stylizer.session = session = open_session(onnx_path, provider)
        stylizer.device_text = session.describe()
        if style_spec and style_spec.graph_input in session.input_names:  # the style as the module prepares it
            prepared = module.prepare_style(style_tensor) if spec.capabilities.prepares_style else style_tensor[None]
            stylizer._feeds[style_spec.graph_input] = np.ascontiguousarray(prepared.numpy(), dtype=np.float32)
        if "alpha" in session.input_names:  # the strength applied inside the graph (AdaIN's feature blend)
            stylizer._feeds["alpha"] = np.array([params["strength"]], dtype=np.float32)
        direction_spec = spec.input(InputKind.DIRECTION)
        if direction_spec and direction_spec.graph_input in session.input_names:  # the choice's index
            index = direction_spec.choices.index(params["direction"])
            stylizer._feeds[direction_spec.graph_input] = np.array([index], dtype=np.int64)
    else:
        stylizer.device_text = describe_device(torch_device)
    return stylizer


def stylize_folder(
    model_or_backend: str,
    inputs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    style: str | os.PathLike[str] | None = None,  # the style image, for backends that take one
    direction: str | None = None,  # a two-way translator's direction
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
    stylizer = open_stylizer(model_or_backend, style=style, direction=direction, strength=strength,
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

    def run(batch: torch.Tensor) -> torch.Tensor:  # long optimisations (reports_progress) report their steps
        return stylizer.run(batch, progress=progress, abort=abort)

    verb = "Translating" if stylizer.operation == "translate" else "Stylizing"
    processor = Processor(f"{verb} with {stylizer.spec.id}", run, record, max_batch=stylizer.max_batch,
                          tileable=stylizer.spec.capabilities.tile_safe, owner=stylizer.owner)
    return run_batch(items, processor, out, passed_over=passed_over, progress=progress, abort=abort, **batch_options)
