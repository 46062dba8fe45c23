"""ONNX export of trained models, checked against PyTorch before it is kept.

The export recipe is part of the backend contract. A backend that declares `Capabilities(export_recipe=True)` brings
its own `export_graphs() -> list[ExportGraph]` (a stylizer with two inputs, anything special); without it, genstudio
derives the graphs
from the module's kind: a generator exports `generate(z[, labels])` as `model.onnx`; an autoencoder exports its
decoder as `model.onnx` (sampling needs only that) and its encoder as `model.encoder.onnx`. The backend must
also declare `Capabilities(exportable=True)`.

Each graph is written to a temporary file, run by onnxruntime on random inputs of two batch sizes and compared
with PyTorch eager; only a graph within tolerance is moved into place, and model.json records the files, their
sha256, the opset, the maximum absolute error per provider and that parity passed. A parity failure is an error
and leaves no file behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genstudio.errors import UserError
from genstudio.events import EventSink, Progress
from genstudio.fileio import fsync_dir, sha256_file, temp_file_beside

DEFAULT_OPSET = 17
TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2}  # max abs error on outputs in [0, 1] (images) or latents
MAIN_FILE = "model.onnx"


@dataclass(frozen=True)
class GraphInput:
    name: str
    shape: tuple[int | str, ...]  # str entries are dynamic axes ("batch", "height", "width")
    dtype: str = "float32"  # "float32" | "int64"
    sample: str = "normal"  # float inputs for the parity check: "normal" (latents) or "unit" (images in [0, 1])
    high: int = 1  # int64 inputs: values drawn from 0 .. high - 1 (class labels)
    size: int = 32  # what a dynamic spatial axis is during the check


@dataclass
class ExportGraph:
    """One ONNX graph: `module(*inputs)` returns the outputs, in the order of `outputs`."""

    name: str  # "model" for the main graph (model.onnx), else the file is model.<name>.onnx
    module: nn.Module
    inputs: list[GraphInput]
    outputs: list[str]
    output_dynamic: dict[str, dict[int, str]] = field(default_factory=dict)  # output axes that vary

    @property
    def file_name(self) -> str:
        return MAIN_FILE if self.name == "model" else f"model.{self.name}.onnx"

    def random_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        values = []
        for spec in self.inputs:
            shape = [batch if dim == "batch" else (spec.size if isinstance(dim, str) else dim) for dim in spec.shape]
            if spec.dtype == "int64":
                values.append(torch.randint(0, max(1, spec.high), shape, generator=generator))
            elif spec.sample == "unit":
                values.append(torch.rand(shape, generator=generator))
            else:
                values.append(torch.randn(shape, generator=generator))
        return tuple(values)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        axes = {spec.name: {i: dim for i, dim in enumerate(spec.shape) if isinstance(dim, str)} for spec in self.inputs}
        axes.update(self.output_dynamic)
        return {name: dims for name, dims in axes.items() if dims}


class _Call(nn.Module):
    """A module whose forward is one method of another module (generate, encode, decode)."""

    def __init__(self, module: nn.Module, method: Callable[..., Any], outputs: int = 1):
        super().__init__()
        self.inner = module
        self.method = method
        self.outputs = outputs

    def forward(self, *inputs):
        result = self.method(*inputs)
        return tuple(result) if self.outputs > 1 else result


def default_graphs(module: nn.Module, kind: str = "generator", label_input: str = "labels") -> list[ExportGraph]:
    """The graphs of a module that brings no recipe of its own, from its kind's contract: a generator exports
    generate(z[, labels]); an autoencoder its decoder (model.onnx) and its encoder (model.encoder.onnx). The
    label input is named as the backend declares it."""
    latent_dim, num_classes = int(module.latent_dim), int(module.num_classes or 0)
    z = GraphInput("z", ("batch", latent_dim))
    labels = [GraphInput(label_input, ("batch",), "int64", high=num_classes)] if num_classes else []
    images = {"images": {0: "batch"}}
    if kind == "autoencoder":
        decode = (lambda z_, y: module.decode(z_, y)) if num_classes else (lambda z_: module.decode(z_))
        probe = _probe_image_shape(module, num_classes)
        x = GraphInput("images", ("batch", *probe), sample="unit")
        encode = (lambda x_, y: module.encode(x_, y)) if num_classes else (lambda x_: module.encode(x_))
        return [ExportGraph("model", _Call(module, decode), [z, *labels], ["images"], images),
                ExportGraph("encoder", _Call(module, encode, outputs=2), [x, *labels], ["mean", "logvar"],
                            {"mean": {0: "batch"}, "logvar": {0: "batch"}})]
    if kind == "generator":
        generate = (lambda z_, y: module.generate(z_, y)) if num_classes else (lambda z_: module.generate(z_))
        return [ExportGraph("model", _Call(module, generate), [z, *labels], ["images"], images)]
    return []  # other kinds have no default graph: they declare export_recipe


def _probe_image_shape(module: nn.Module, num_classes: int) -> tuple[int, int, int]:
    with torch.no_grad():
        labels = torch.zeros(1, dtype=torch.long) if num_classes else None
        z = torch.zeros(1, module.latent_dim)
        out = module.decode(z, labels) if num_classes else module.decode(z)
    return tuple(int(d) for d in out.shape[1:])


def graphs_for(module: nn.Module, spec: Any = None) -> list[ExportGraph]:
    """The module's own recipe when its backend declares `export_recipe`, else the graphs its kind implies."""
    from genstudio.inputs import InputKind

    if spec is not None and spec.capabilities.export_recipe:
        graphs = module.export_graphs()
    else:
        label = spec.input(InputKind.LABEL) if spec is not None else None
        graphs = default_graphs(module, spec.kind.value if spec is not None else "generator",
                                label.graph_input if label is not None else "labels")
    if not graphs:
        raise UserError(f"{type(module).__name__} has no ONNX export recipe")
    if graphs[0].name != "model" or len({g.name for g in graphs}) != len(graphs):
        raise UserError("an export recipe must list the main graph ('model') first and name graphs uniquely")
    return graphs


def _to_numpy(values: tuple[torch.Tensor, ...], names: list[str]) -> dict[str, np.ndarray]:
    return {name: value.numpy() for name, value in zip(names, values, strict=True)}


def _max_error(expected: Any, got: list[np.ndarray]) -> float:
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    if len(expected) != len(got):
        raise UserError(f"the ONNX graph returned {len(got)} outputs, PyTorch {len(expected)}")
    worst = 0.0
    for a, b in zip(expected, got, strict=True):
        a = a.detach().float().numpy()
        if a.shape != b.shape:
            raise UserError(f"ONNX output shape {b.shape} differs from PyTorch's {a.shape}")
        worst = max(worst, float(np.max(np.abs(a - b.astype(np.float32)))) if a.size else 0.0)
    return worst


def parity(graph: ExportGraph, path: Path, providers: list[str], seed: int = 0) -> dict[str, float]:
    """Max abs error between PyTorch eager and onnxruntime on each provider, over batches of 1 and 3."""
    from genstudio.onnx_runtime import open_session

    errors: dict[str, float] = {}
    for provider in providers:
        session = open_session(path, provider, cache=False)
        worst = 0.0
        generator = torch.Generator().manual_seed(seed)
        for batch in (1, 3):
            inputs = graph.random_inputs(batch, generator)
            with torch.no_grad():
                expected = graph.module(*inputs)
            worst = max(worst, _max_error(expected, session.run(_to_numpy(inputs, session.input_names))))
        errors[session.provider] = worst
    return errors


def _export_one(graph: ExportGraph, target: Path, opset: int, fp16: bool, card: dict[str, Any]) -> None:
    import onnx

    example = graph.random_inputs(2, torch.Generator().manual_seed(0))
    graph.module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # input checks traced as constants: harmless
        torch.onnx.export(graph.module, example, str(target), dynamo=False, opset_version=opset,
                          input_names=[i.name for i in graph.inputs], output_names=graph.outputs,
                          dynamic_axes=graph.dynamic_axes(), do_constant_folding=True)
    model = onnx.load(str(target))
    if fp16:
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(model, keep_io_types=True)  # inputs and outputs stay float32
        _sort_nodes(model.graph)  # the converter appends its input casts at the end
    for key, value in {"genstudio_card": json.dumps(card, sort_keys=True), "genstudio_graph": graph.name}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _sort_nodes(graph) -> None:
    """Reorder `graph`'s nodes topologically (ONNX requires it; some rewriters append nodes out of order)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(name in available for name in n.input)]
        if not ready:
            raise UserError("the exported ONNX graph has a cycle or an undefined input")
        for node in ready:
            ordered.append(node)
            available.update(node.output)
        pending = [n for n in pending if not any(n is r for r in ready)]
    copies = [type(n)() for n in ordered]
    for copy, node in zip(copies, ordered, strict=True):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def export_model(
    model_dir: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,  # the main graph's file; default <model>/model.onnx
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,  # float16 weights and arithmetic inside, float32 inputs and outputs
    check: bool = True,  # parity against PyTorch (CPU, and CUDA when usable); a failure is an error
    progress: EventSink | None = None,
) -> dict[str, Any]:
    """Export a model folder to ONNX; returns what was recorded in model.json under extra.onnx."""
    from genstudio.models import CARD_FILE, load_model, update_card
    from genstudio.onnx_runtime import cuda_provider_usable

    loaded = load_model(model_dir, device="cpu")
    folder = loaded.folder
    if not loaded.spec.capabilities.exportable:
        raise UserError(f"backend {loaded.spec.id!r} (plugin {loaded.spec.plugin}) does not declare an ONNX export")
    if not 7 <= opset <= 21:
        raise UserError(f"opset must be between 7 and 21, got {opset}")
    main_target = Path(out) if out is not None else folder / MAIN_FILE
    if main_target.suffix != ".onnx":
        raise UserError(f"--out must name a .onnx file, got {main_target.name}")
    graphs = graphs_for(loaded.module, loaded.spec)
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    # parity on the CUDA provider too where onnxruntime has it (a CUDA torch beside a CPU-only onnxruntime: CPU only)
    providers = ["cpu"] + (["cuda"] if check and cuda_provider_usable() else [])
    reporter = Progress(progress, f"Exporting {loaded.spec.id} to ONNX", total=len(graphs))
    files: dict[str, dict[str, Any]] = {}
    staged: list[tuple[str, Path, Path]] = []  # graph name, temporary file, final file
    try:
        for graph in graphs:
            target = main_target if graph.name == "model" else main_target.with_name(
                main_target.stem + f".{graph.name}.onnx")
            temp = temp_file_beside(target)
            staged.append((graph.name, temp, target))
            _export_one(graph, temp, opset, fp16, card)
            errors = parity(graph, temp, providers) if check else {}
            tolerance = TOLERANCE["fp16" if fp16 else "fp32"]
            bad = {p: e for p, e in errors.items() if not e <= tolerance}
            if bad:
                provider, error = next(iter(bad.items()))
                raise UserError(f"ONNX parity check failed for {target.name} on {provider}: max abs error {error:.3g} "
                                f"> {tolerance:g}; the export was not kept")
            files[graph.name] = {"file": os.path.relpath(target, folder) if target.parent == folder else str(target),
                                 "max_abs_error": errors, "inputs": [i.name for i in graph.inputs],
                                 "outputs": graph.outputs}
            reporter.update(advance=1)
        twin = None
        if loaded.spec.kind.value in ("generator", "autoencoder"):  # what sampling needs without torch
            from genstudio.onnx_runtime import TWIN_INPUTS_FILE, twin_metadata, twin_record

            twin, fixed = twin_record(twin_metadata(loaded.module, loaded.spec))
            if fixed is not None:
                target = main_target.with_name(TWIN_INPUTS_FILE)
                temp = temp_file_beside(target)
                staged.append(("", temp, target))
                temp.write_bytes(fixed)
                twin["fixed_inputs"] = {"file": os.path.relpath(target, folder) if target.parent == folder
                                        else str(target), "sha256": sha256_file(temp)}
        for name, temp, target in staged:  # only now, with every graph checked, replace the old files
            os.replace(temp, target)
            if name:
                files[name]["sha256"] = sha256_file(target)
        fsync_dir(main_target.parent)
    finally:
        for _, temp, _ in staged:
            temp.unlink(missing_ok=True)
    record = {
        "graphs": files,
        "opset": opset,
        "fp16": fp16,
        "parity_checked": check,
        "parity_passed": bool(check),
        "tolerance": TOLERANCE["fp16" if fp16 else "fp32"],
        "weights_sha256": loaded.card.weights_sha256,
        **({"twin": twin} if twin is not None else {}),
        "onnxruntime": _ort_version(),
        "exported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    update_card(folder, extra={**loaded.card.extra, "onnx": record})
    reporter.finish(f"{len(files)} graph(s) written")
    return record


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__
