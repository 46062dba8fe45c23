"""The torch side of `genstudio.batch.stylize` (`open_torch_stylizer`): a stylizer or translator whose torch module
runs, or whose exported graph needs the module's own code around it (`prepare_style`, `postprocess`). Imported only
then: an ONNX model that needs none of it never loads torch.

Arrays cross into torch here and only here (`genstudio.batch.torch_edge`): the engine takes and returns
N x 3 x H x W float32 arrays, like the ONNX one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genstudio.backends import BackendKind, check_model_kind
from genstudio.batch.stylizer import OnnxEngine, Stylizer, linear_blend, onnx_batch, onnx_feeds
from genstudio.batch.torch_edge import to_array, to_tensor
from genstudio.inputs import InputKind


def read_rgb(path: str | os.PathLike[str]) -> torch.Tensor:
    """An image file (through the format allowlist) as 3 x H x W float in [0, 1]."""
    from genstudio.data import open_image

    return torch.from_numpy(np.asarray(open_image(path, "RGB")).copy()).permute(2, 0, 1).float() / 255


@dataclass
class TorchEngine:
    """The module's own `stylize` / `translate`, one image a call on its device."""

    spec: Any  # BackendSpec
    module: Any
    device: torch.device
    params: dict[str, Any]  # strength, preserve_color / direction, and the choice inputs
    style: torch.Tensor | None = None  # 3 x H x W

    def __call__(self, batch: np.ndarray, **extra: Any) -> np.ndarray:
        if not self.spec.capabilities.reports_progress:
            extra = {}
        images = to_tensor(batch)
        with torch.no_grad():
            if self.spec.kind == BackendKind.TRANSLATOR:
                params = {k: v for k, v in self.params.items() if k != "direction"}
                results = [self.module.translate(image[None].to(self.device), self.params.get("direction"),
                                                 **params, **extra) for image in images]
                return to_array(torch.cat([torch.as_tensor(r).float().clamp(0, 1).cpu() for r in results]))
            style = self.style.to(self.device) if self.style is not None else None
            results = [self.module.stylize(image[None].to(self.device), style, **self.params, **extra)
                       for image in images]
            return to_array(torch.cat([torch.as_tensor(r).reshape(1, *r.shape[-3:]).float().cpu()
                                       for r in results]))


def torch_finish(module: Any, params: dict[str, Any]):
    """The module's declared `postprocess` after an exported graph, as a function of arrays."""
    options = {"strength": params.get("strength", 1.0), "preserve_color": params.get("preserve_color", False)}

    def finish(content: np.ndarray, styled: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return to_array(module.postprocess(to_tensor(content), to_tensor(styled), **options))

    return finish


def open_torch_stylizer(target: Any, params: dict[str, Any], inputs: dict[str, Any], style_path: Path | None,
                        device: str, onnx_path: Path | None, provider: str) -> Stylizer:
    """The module loaded (a model folder's checked weights, or a backend id built from its settings), and its
    engine: the module itself, or the exported graph at `onnx_path` with the module's code around it."""
    from genstudio.devices import describe_device, resolve_device
    from genstudio.models import load_model

    spec = target.spec
    torch_device = resolve_device(device)
    loaded = None
    if target.folder is not None:
        loaded = load_model(target.folder, device=torch_device)
        module = loaded.module
    else:
        module = spec.load().build(target.settings)
        check_model_kind(spec, module)
        module = module.to(torch_device).eval()
    model_sha256 = loaded.card.weights_sha256 if loaded is not None else None
    style = read_rgb(style_path) if style_path is not None else None
    if onnx_path is None:
        engine = TorchEngine(spec, module, torch_device, params, style)
        return Stylizer(spec, target, params, inputs, "torch", describe_device(torch_device), engine,
                        model_sha256=model_sha256, module=module, loaded=loaded)
    from genstudio.onnx_runtime import open_session

    session = open_session(onnx_path, provider)
    prepared = None
    if style is not None:  # the style as the module prepares it
        with torch.no_grad():
            prepared = to_array(module.prepare_style(style) if spec.capabilities.prepares_style else style[None])
    feeds = onnx_feeds(spec, session, params, prepared)
    if spec.capabilities.postprocesses:
        finish = torch_finish(module, params)
    else:
        finish = linear_blend(1.0 if "alpha" in feeds else params.get("strength", 1.0))
    engine = OnnxEngine(session, spec.input(InputKind.IMAGE).graph_input, feeds, finish)
    return Stylizer(spec, target, params, inputs, "onnx", session.describe(), engine,
                    max_batch=onnx_batch(session.provider), model_sha256=model_sha256, module=module,
                    session=session, loaded=loaded)
