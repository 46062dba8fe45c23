"""An opened stylizer or translator (`Stylizer`) and the engines that run it, without torch: the ONNX engine
(`OnnxEngine`: a graph on onnxruntime, its feeds built from the declared inputs, `linear_blend` after it).

`genstudio.batch.stylize` opens one (`open_stylizer`); `genstudio.batch.torch_stylize` adds the torch engine and
the torch code an exported graph may need around it. Engines take and return N x 3 x H x W float32 arrays.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.backends import BackendKind
from genstudio.batch.tiles import as_array
from genstudio.inputs import InputKind

ONNX_BATCH = 8  # images of one size per onnxruntime call on a GPU provider (the torch path runs one at a time)
Engine = Callable[..., np.ndarray]  # (N x 3 x H x W float32, **extra) -> N x 3 x H' x W' float32


def onnx_batch(provider: str) -> int:  # provider: a Session's short name, "cpu" | "cuda" | "tensorrt"
    """Images per onnxruntime call. On the CPU provider one: a 512 px image already gives the convolutions all
    the parallelism the cores take, and larger batches only spill the caches (fast-style lite on 2 cores: 14.0
    images/s at batch 1, 12.0 at batch 8; standard: equal within noise; bench/throughput.py)."""
    return 1 if provider == "cpu" else ONNX_BATCH


def read_pixels(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file (through the format allowlist) as 3 x H x W float32 in [0, 1] (numpy: no torch)."""
    from genstudio.data import open_image

    pixels = np.asarray(open_image(path, "RGB"))
    return np.divide(pixels.transpose(2, 0, 1), np.float32(255), dtype=np.float32)


def linear_blend(strength: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """What follows an exported graph when the backend declares no `postprocess`: the output clipped to [0, 1],
    blended toward the content by (1 - strength) (float32, the torch runtime's arithmetic)."""

    def finish(content: np.ndarray, styled: np.ndarray) -> np.ndarray:
        styled = np.clip(styled, 0, 1)
        return content + np.float32(strength) * (styled - content) if strength < 1 else styled

    return finish


@dataclass
class OnnxEngine:
    """A graph on onnxruntime: the image batch and the fixed feeds in, `finish(content, output)` after."""

    session: Any  # genstudio.onnx_runtime.Session
    image_input: str  # the graph input the images go to
    feeds: dict[str, np.ndarray]  # the other inputs: style, choices, direction, alpha
    finish: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, batch: np.ndarray, **_extra: Any) -> np.ndarray:
        styled = as_array(self.session.run({self.image_input: batch, **self.feeds})[0])
        return self.finish(batch, styled)


@dataclass
class Stylizer:
    """An opened stylizer: its engine on the runtime that runs it, the effective settings and inputs, provenance."""

    spec: Any  # BackendSpec
    target: Any  # genstudio.models.Target: the folder and its card, or the backend id, with its settings
    params: dict[str, Any]  # the effective use-time settings: strength, preserve_color; direction; choices
    inputs: dict[str, Any]  # declared file inputs besides the content: {"style": Path | None, ...}
    runtime: str  # "torch" | "onnx"
    device_text: str  # what ran it, for provenance
    engine: Engine  # N x 3 x H x W float32 in [0, 1] -> N x 3 x H' x W'
    max_batch: int = 1  # images per engine call
    files: dict[str, str] = field(default_factory=dict)  # ONNX-only backend: {file name: sha256} of what runs
    model_sha256: str | None = None  # the weights' (or the graph's) sha256; None for a backend without weights
    module: Any = None  # the torch module, when one was built (torch runtime, or a graph with a torch postprocess)
    session: Any = None  # the onnxruntime Session on the onnx runtime
    loaded: Any = None  # genstudio.models.LoadedModel when the torch weights were loaded

    @property
    def settings(self) -> dict[str, Any]:
        return self.target.settings

    @property
    def owner(self) -> tuple[str, str]:
        return (self.spec.plugin, self.spec.id)

    @property
    def operation(self) -> str:
        """What provenance calls it: "stylize", "translate" or "restore"."""
        return {BackendKind.TRANSLATOR: "translate", BackendKind.RESTORER: "restore"}.get(self.spec.kind, "stylize")

    def run(self, batch: np.ndarray, **extra: Any) -> np.ndarray:
        """N x 3 x H x W float32 in [0, 1] -> the stylized N x 3 x H' x W' (float32, on the CPU). `extra`
        (progress, abort) reaches torch modules that declare `reports_progress`."""
        return self.engine(np.asarray(batch, dtype=np.float32), **extra)

    def record(self, input_sha256: str | None, input_path: str | None = None) -> dict[str, Any]:
        """The provenance of one output (its time is added by `provenance`)."""
        from genstudio.inputs import provenance_fields
        from genstudio.provenance import provenance

        spec, folder = self.spec, self.target.folder
        more = {"weights": dict(self.files)} if self.files else {}
        return provenance(
            backend=spec.id, plugin=spec.plugin, plugin_version=spec.plugin_version, model_sha256=self.model_sha256,
            parameters={**self.params, "config": self.settings}, runtime=self.runtime, device=self.device_text,
            operation=self.operation, input_sha256=input_sha256,
            **{**provenance_fields(spec.inputs, self.inputs, skip=("input",)),
               **({"input": input_path} if input_path else {})},
            model=str(Path(folder).resolve()) if folder is not None else spec.id, **more,
        )


def onnx_feeds(spec: Any, session: Any, params: dict[str, Any], style: np.ndarray | None) -> dict[str, np.ndarray]:
    """The inputs of an ONNX graph besides the images: the style (1 x 3 x H x W, as prepared), each choice or
    direction the graph takes (`choice_feed`), and the strength as `alpha` when the graph applies it itself."""
    from genstudio.inputs import choice_feed

    feeds: dict[str, np.ndarray] = {}
    style_spec = spec.input(InputKind.STYLE)
    if style is not None and style_spec is not None and style_spec.graph_input in session.input_names:
        feeds[style_spec.graph_input] = np.ascontiguousarray(style, dtype=np.float32)
    if "alpha" in session.input_names and "strength" in params:  # the strength applied inside the graph
        feeds["alpha"] = np.array([params["strength"]], dtype=np.float32)
    for entry in spec.inputs:
        if entry.kind in (InputKind.DIRECTION, InputKind.CHOICE) and entry.graph_input in session.input_names:
            feeds[entry.graph_input] = choice_feed(entry, params[entry.name])
    return feeds
