"""`genstudio stylize`: a stylizer (a trained model folder, or a backend id that needs no training such as
`gatys`) over files and folders through the batch pipeline.

Works with any backend following the stylizer contract: `stylize(content, style=None, **params)` on a
3 x H x W tensor in [0, 1]. A model folder with a parity-checked `model.onnx` runs through onnxruntime by default
(inputs `content` and, for arbitrary-style models, `style`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genstudio.backends import BackendKind
from genstudio.batch.inputs import Item, collect
from genstudio.batch.pipeline import BatchSummary, Processor, run_batch
from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink

ONNX_BATCH = 8  # images of one size per onnxruntime call on a GPU provider (the torch path runs one at a time)


def onnx_batch(provider: str) -> int:  # provider: a Session's short name, "cpu" | "cuda" | "tensorrt"
    """Images per onnxruntime call. On the CPU provider one: a 512 px image already gives the convolutions all
    the parallelism the cores take, and larger batches only spill the caches (fast-style lite on 2 cores: 14.0
    images/s at batch 1, 12.0 at batch 8; standard: equal within noise; bench/throughput.py)."""
    return 1 if provider == "cpu" else ONNX_BATCH


def _load(model_or_backend: str, assignments: list[str], device: torch.device, config: dict[str, Any] | None = None):
    """(spec, module, loaded model or None, the settings) for a model folder or an untrainable backend id."""
    from genstudio.backends import check_model_kind
    from genstudio.models import load_model
    from genstudio.plugins import get_registry

    if Path(model_or_backend).is_dir():
        loaded = load_model(model_or_backend, device=device)
        if assignments:
            raise UserError("--set applies to backend ids (e.g. gatys), not to trained model folders")
        return loaded.spec, loaded.module, loaded, dict(loaded.card.config)
    if os.sep in model_or_backend or model_or_backend.startswith("."):
        raise UserError(f"model folder not found: {model_or_backend}")
    spec = get_registry().backend(model_or_backend)
    if spec.kind != BackendKind.STYLIZER:
        raise UserError(f"backend {spec.id!r} is a {spec.kind.value}, not a stylizer")
    if spec.capabilities.trainable:
        raise UserError(f"backend {spec.id!r} needs a trained model folder: train one with `genstudio train {spec.id}`")
    config = spec.schema.resolve({**(config or {}), **spec.schema.parse_assignments(assignments)})
    module = spec.load().build(config)
    check_model_kind(spec, module)
    return spec, module.to(device).eval(), None, config


def stylize_folder(
    model_or_backend: str,
    inputs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    style: str | os.PathLike[str] | None = None,  # the style image, for backends that take one
    strength: float = 1.0,
    preserve_color: bool = False,
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
    from genstudio.data import open_image
    from genstudio.devices import describe_device, resolve_device
    from genstudio.fileio import sha256_file
    from genstudio.onnx_runtime import choose_runtime, open_session
    from genstudio.provenance import provenance

    if not 0.0 <= strength <= 1.0:
        raise UserError(f"--strength must be between 0 and 1, got {strength}")
    torch_device = resolve_device(device)
    spec, module, loaded, settings = _load(str(model_or_backend), list(assignments), torch_device, config)
    needs_style = spec.capabilities.needs_style_image
    if needs_style and style is None:
        raise UserError(f"backend {spec.id!r} needs a style image: pass --style IMAGE")
    if style is not None and not needs_style:
        raise UserError(f"backend {spec.id!r} was trained on one style and takes no --style")
    style_tensor, style_sha = None, None
    if style is not None:
        style_image = open_image(style, "RGB")
        style_tensor = torch.from_numpy(np.asarray(style_image).copy()).permute(2, 0, 1).float() / 255
        style_sha = sha256_file(style)
    items, passed_over = collect(list(inputs), out, recursive=recursive, pattern=pattern)
    if not items and not passed_over:
        raise UserError("no input images found")

    runtime_used, onnx_path = ("torch", None) if loaded is None else choose_runtime(runtime, loaded.folder, loaded.card)
    params = {"strength": strength, "preserve_color": preserve_color}
    if runtime_used == "onnx":
        session = open_session(onnx_path, provider)
        device_text = session.describe()

        constant_feeds: dict[str, np.ndarray] = {}
        if "style" in session.input_names:  # arbitrary-style graphs: the style as the module prepares it
            prepare = getattr(module, "prepare_style", None)
            prepared = prepare(style_tensor) if callable(prepare) else style_tensor[None]
            constant_feeds["style"] = np.ascontiguousarray(prepared.numpy(), dtype=np.float32)
        if "alpha" in session.input_names:  # the strength applied inside the graph (AdaIN's feature blend)
            constant_feeds["alpha"] = np.array([strength], dtype=np.float32)

        def run(batch: torch.Tensor) -> torch.Tensor:
            result = torch.from_numpy(session.run({"content": batch.numpy(), **constant_feeds})[0])
            return _blend(batch, result, strength, preserve_color, module)
    else:
        device_text = describe_device(torch_device)
        style_on_device = style_tensor.to(torch_device) if style_tensor is not None else None

        def run(batch: torch.Tensor) -> torch.Tensor:
            results = [module.stylize(image.to(torch_device), style_on_device, **params) for image in batch]
            return torch.stack([torch.as_tensor(r).reshape(r.shape[-3:]).float().cpu() for r in results])


    def record(item: Item, digest: str) -> dict[str, Any]:
        return provenance(
            backend=spec.id, plugin=spec.plugin, plugin_version=spec.plugin_version,
            model_sha256=loaded.card.weights_sha256 if loaded is not None else None,
            parameters={**params, "config": settings}, runtime=runtime_used, device=device_text,
            operation="stylize", input_sha256=digest, style_sha256=style_sha,
            style=str(Path(style).resolve()) if style is not None else None,
            model=str(Path(loaded.folder).resolve()) if loaded is not None else spec.id,
        )

    processor = Processor(f"Stylizing with {spec.id}", run, record,
                          max_batch=onnx_batch(session.provider) if runtime_used == "onnx" else 1,
                          tileable=bool(getattr(module, "fully_convolutional", True)))
    return run_batch(items, processor, out, passed_over=passed_over, progress=progress, abort=abort, **batch_options)


def _blend(content: torch.Tensor, styled: torch.Tensor, strength: float, preserve_color: bool, module) -> torch.Tensor:
    """What the torch path does inside `stylize` for strength and colour, applied after an ONNX graph: the
    module's own `postprocess` when it has one, else a linear blend toward the content."""
    post = getattr(module, "postprocess", None)
    if callable(post):
        return post(content, styled, strength=strength, preserve_color=preserve_color)
    styled = styled.clamp(0, 1)
    return content + strength * (styled - content) if strength < 1 else styled
