"""Which function runs each job kind: the operations table (genstudio.operations.registry), seen from the queue.

A runner is `function(params: dict, progress: EventSink, abort: AbortCheck) -> dict` (the result: paths and a
summary, JSON-serialisable). It runs inside the job's child process, so it is named by a "module:function"
string and imported there, on first use: registering a kind never imports torch. A runner reports through the
event API (genstudio.events), polls `abort` between units of work, raises `UserError` for problems the user can
fix, and may return {"cancelled": True, ...} when it stopped early on `abort` (the job is then "cancelled").

Job kinds are the built-in operations, the operations plugins register (`register_operations`, looked up when a
kind is not known yet, so a worker's child process finds them too) and kinds registered in this process with
`register_runner` (tests, embedding applications). A kind registered without a target can be queued, but fails
with a one-line error when a worker takes it.
"""

from __future__ import annotations

from typing import Any

from genstudio.errors import UserError
from genstudio.operations.registry import BUILTIN, Operation, Runner, load_runner

RunnerSpec = Operation  # the queue's name for an operation
__all__ = ["RunnerSpec", "Runner", "load_runner", "register_runner", "runner_spec", "runner_specs",
           "unregister_runner"]

_registry: dict[str, Operation] = {spec.kind: spec for spec in BUILTIN}
_from_plugins: set[str] = set()


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
    light: bool = False,
) -> Operation:
    """Register (or replace) the runner of `kind` in this process. The worker process must register it too."""
    if callable(target):
        target = f"{target.__module__}:{target.__qualname__}"
    spec = Operation(kind, target, description, tuple(required), tuple(path_params), uses_gpu, resumable,
                     dict(defaults or {}), light=light)
    _registry[kind] = spec
    return spec


def unregister_runner(kind: str) -> None:
    """Forget a registered kind; built-in kinds come back with their built-in runner."""
    _registry.pop(kind, None)
    for spec in BUILTIN:
        if spec.kind == kind:
            _registry[kind] = spec


def _plugin_operations() -> None:
    """Add the operations of the installed plugins (once per process; their names never replace a built-in)."""
    from genstudio.plugins import get_registry

    for operation in get_registry().operations.values():
        if operation.kind not in _registry or operation.kind in _from_plugins:
            _registry[operation.kind] = operation
            _from_plugins.add(operation.kind)


def runner_spec(kind: str) -> Operation:
    """The spec of `kind`; UserError for an unknown kind."""
    if kind not in _registry:
        _plugin_operations()
    try:
        return _registry[kind]
    except KeyError:
        raise UserError(f"unknown job kind {kind!r}; known kinds: {', '.join(sorted(_registry))}") from None


def runner_specs() -> list[Operation]:
    _plugin_operations()
    return sorted(_registry.values(), key=lambda spec: spec.kind)
