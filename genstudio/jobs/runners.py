"""Which function runs each job kind.

A runner is `function(params: dict, progress: EventSink, abort: AbortCheck) -> dict` (the result: paths and a
summary, JSON-serialisable). It runs inside the job's child process, so it is named by a "module:function"
string and imported there, on first use: registering a kind never imports torch. A runner reports through the
event API (genstudio.events), polls `abort` between units of work, raises `UserError` for problems the user can
fix, and may return {"cancelled": True, ...} when it stopped early on `abort` (the job is then "cancelled").

Kinds registered without a target (stylize-folder, export, eval for now) can be queued, but fail with a one-line
error when a worker takes them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import UserError

Runner = Callable[..., dict]


@dataclass(frozen=True)
class RunnerSpec:
    """How to run one job kind."""

    kind: str
    target: str | None  # "module:function", imported in the child; None: the kind has no runner yet
    description: str = ""
    required: tuple[str, ...] = ()  # params a job of this kind must have
    path_params: tuple[str, ...] = ()  # params that are paths: made absolute when the job is added
    uses_gpu: bool = False  # default for jobs of this kind; a job with params device="cpu" never does
    resumable: bool = False  # on retry after a started attempt the runner gets params["resume"] = True
    defaults: dict[str, Any] = field(default_factory=dict)  # filled into params when the job is added

    def prepare(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise a new job's params: required keys present, paths absolute, defaults filled."""
        missing = [name for name in self.required if params.get(name) in (None, "")]
        if missing:
            raise UserError(f"a {self.kind} job needs the parameter(s) {', '.join(missing)} "
                            f"(e.g. --param {missing[0]}=...)")
        prepared = {**self.defaults, **params}
        for name in self.path_params:
            if prepared.get(name) not in (None, ""):
                prepared[name] = str(Path(str(prepared[name])).expanduser().resolve())
        return prepared

    def default_uses_gpu(self, params: dict[str, Any]) -> bool:
        return self.uses_gpu and str(params.get("device", "auto")) != "cpu"


_BUILTIN = [
    RunnerSpec("train", "genstudio.jobs.builtin:run_train", "Train a backend on an image folder.",
               required=("backend", "data", "out"), path_params=("data", "out"), uses_gpu=True, resumable=True),
    RunnerSpec("generate", "genstudio.jobs.builtin:run_generate", "Generate images from a model into a folder.",
               required=("model", "out", "count"), path_params=("model", "out"), uses_gpu=True),
    RunnerSpec("plugin-install", "genstudio.jobs.builtin:run_plugin_install", "Install a plugin with pip.",
               required=("requirement",), path_params=("target",)),
    RunnerSpec("stylize-folder", "genstudio.jobs.builtin:run_stylize_folder", "Stylize files and folders.",
               required=("model", "inputs", "out"), path_params=("out", "style", "report_file"), uses_gpu=True,
               resumable=True),
    RunnerSpec("export", "genstudio.jobs.builtin:run_export", "Export a model to ONNX (parity checked).",
               required=("model",), path_params=("model", "out"), uses_gpu=False),
    RunnerSpec("eval", "genstudio.jobs.builtin:run_eval", "Evaluate a model against real images.",
               required=("model", "data"), path_params=("model", "data"), uses_gpu=True),
]
_registry: dict[str, RunnerSpec] = {spec.kind: spec for spec in _BUILTIN}


def register_runner(
    kind: str,
    target: str | Runner | None,  # "module:function" or a module-level function (named by its module)
    *,
    description: str = "",
    required: tuple[str, ...] = (),
    path_params: tuple[str, ...] = (),
    uses_gpu: bool = False,
    resumable: bool = False,
    defaults: dict[str, Any] | None = None,
) -> RunnerSpec:
    """Register (or replace) the runner of `kind` in this process. The worker process must register it too."""
    if callable(target):
        target = f"{target.__module__}:{target.__qualname__}"
    spec = RunnerSpec(kind, target, description, tuple(required), tuple(path_params), uses_gpu, resumable,
                      dict(defaults or {}))
    _registry[kind] = spec
    return spec


def unregister_runner(kind: str) -> None:
    """Forget a registered kind; built-in kinds come back with their built-in runner."""
    _registry.pop(kind, None)
    for spec in _BUILTIN:
        if spec.kind == kind:
            _registry[kind] = spec


def runner_spec(kind: str) -> RunnerSpec:
    """The spec of `kind`; UserError for an unknown kind."""
    try:
        return _registry[kind]
    except KeyError:
        raise UserError(f"unknown job kind {kind!r}; known kinds: {', '.join(sorted(_registry))}") from None


def runner_specs() -> list[RunnerSpec]:
    return sorted(_registry.values(), key=lambda spec: spec.kind)


def load_runner(target: str) -> Runner:
    """Import "module:function" (in the child process)."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
