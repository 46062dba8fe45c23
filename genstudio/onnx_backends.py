"""ONNX-only backends: a plugin whose network is ONNX graphs it ships (package data) or finds in a model folder,
run by onnxruntime with no torch module at all (`Capabilities(runtime="onnx")`).

The backend names its graph files as `WeightsRef`s in `Capabilities.pretrained_weights` (file name, sha256,
`bundled="package:path"`, a setting), and its loader names a light object whose `onnx_graph(config)` says which
of them runs for a config. `open_graph` finds that file the way every pretrained file is found
(`genstudio.weights.find_weights`: a setting, the model folder, the package data, the torch hub cache), checks it
against its sha256, and opens an onnxruntime session; the sha256 of every file that runs goes into provenance.

A model folder may hold an ONNX-only backend's graph too (model.json naming the backend, with `weights_sha256`
the sha256 of the graph that runs, and the graph file beside it): the folder's file is then used, and must be the
one the card names.

Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genstudio.errors import ModelFileError, PluginError


@dataclass
class OpenedGraph:
    """The graph an ONNX-only backend runs, found, checked and opened."""

    session: Any  # genstudio.onnx_runtime.Session
    path: Path
    sha256: str
    files: dict[str, str]  # {ref name: sha256} of every file that runs (provenance's `weights`)


def graph_ref(spec: Any, settings: dict[str, Any]) -> Any:
    """The `WeightsRef` the backend's `onnx_graph(config)` names for these settings (a bad answer is the plugin's
    bug: a PluginError naming it)."""
    impl = spec.load()
    try:
        name = impl.onnx_graph(dict(settings))
    except Exception as exc:
        raise PluginError.from_exception(exc, spec.plugin, spec.id) from exc
    refs = {ref.name: ref for ref in spec.capabilities.pretrained_weights}
    if name not in refs:
        raise PluginError(spec.plugin, spec.id, ValueError(
            f"onnx_graph returned {name!r}, which is none of its pretrained_weights ({', '.join(refs)})"))
    return refs[name]


def open_graph(target: Any, provider: str = "auto") -> OpenedGraph:
    """The backend's graph for `target` (a genstudio.models.Target: a backend id with its settings, or a model
    folder of the backend), checked against its sha256, in an onnxruntime session."""
    from genstudio.onnx_runtime import open_session
    from genstudio.weights import find_weights

    spec = target.spec
    ref = graph_ref(spec, target.settings)
    located = find_weights(ref, folder=target.folder)
    if target.card is not None and located.sha256 != target.card.weights_sha256:
        raise ModelFileError(f"{located.path} is not the graph {target.folder}/model.json names (its sha256 "
                             "differs: a changed or replaced file)")
    session = open_session(located.path, provider)
    return OpenedGraph(session, located.path, located.sha256, {ref.name: located.sha256})
