"""The table of operations: each user operation's name, its job runner and how its job parameters are prepared.

Job kinds are exactly these names: `genstudio jobs add KIND`, the worker and the app's queue all look an
operation up here. The built-in operations are listed below; a plugin adds its own with the
`register_operations` hook (genstudio.hookspecs), returning `Operation` descriptors like these, and they become
job kinds the same way (a plugin operation's name may not replace a built-in one).

An operation's `target` names its job runner, `function(params: dict, progress, abort) -> dict`, as
"module:function": it is imported in the job's child process on first use, so listing operations never imports
torch. The built-in runners (genstudio.jobs.builtin) are adapters that call the operation's core function.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import UserError

Runner = Callable[..., dict]


@dataclass(frozen=True)
class Operation:
    """One operation, as a job kind."""

    kind: str  # the operation's name and job kind: "train", "stylize-folder", ...
    target: str | None  # "module:function" of its job runner; None: it can be queued but not run yet
    description: str = ""
    required: tuple[str, ...] = ()  # params a job of this kind must have
    path_params: tuple[str, ...] = ()  # params that are paths: made absolute when the job is added
    uses_gpu: bool = False  # default for jobs of this kind; a job with params device="cpu" never does
    resumable: bool = False  # on retry after a started attempt the runner gets params["resume"] = True
    defaults: dict[str, Any] = field(default_factory=dict)  # filled into params when the job is added
    plugin: str = ""  # the plugin that registered it; "" for built-ins
    light: bool = False  # quick, little CPU and no GPU (installs): a worker runs it beside or ahead of heavy jobs

    def prepare(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise a new job's params: required keys present, paths absolute, defaults filled."""
        missing = [name for name in self.required if params.get(name) in (None, "")]
        if missing:
            raise UserError(f"a {self.kind} job needs the parameter(s) {', '.join(missing)} "
                            f"(e.g. --param {missing[0]}=...)")
        prepared = {**self.defaults, **params}
        for name in self.path_params:
            if prepared.get(name) not in (None, "") and (name not in CHOICE_OR_PATH or _path_like(str(prepared[name]))):
                prepared[name] = str(Path(str(prepared[name])).expanduser().resolve())
        return prepared

    def default_uses_gpu(self, params: dict[str, Any]) -> bool:
        return self.uses_gpu and str(params.get("device", "auto")) != "cpu"


CHOICE_OR_PATH = ("style",)  # a style image's path, or a declared choice input named style (`style=mosaic`)


_BLEND = re.compile(r"[^/\\:,]+:[0-9.eE+-]+(,[^/\\:,]+:[0-9.eE+-]+)*")  # a choice input's mix: ember:0.5,moss:0.5


def _path_like(value: str) -> bool:
    """Whether a CHOICE_OR_PATH parameter's value is a path: an existing file or folder, or text with a separator,
    a leading '.' or '~', or a suffix. A bare word that names nothing here stays as given (`mosaic`, `2`), and so
    does a blend of choices (`ember:0.5,moss:0.5`, whose '.5' is no suffix)."""
    path = Path(value).expanduser()
    if path.exists():
        return True
    if _BLEND.fullmatch(value):
        return False
    return any(sep in value for sep in ("/", "\\")) or value.startswith((".", "~")) or bool(path.suffix)


_B = "genstudio.jobs.builtin"
BUILTIN: tuple[Operation, ...] = (
    Operation("train", f"{_B}:run_train", "Train a backend on an image folder.",
              required=("backend", "data", "out"), path_params=("data", "out", "style", "styles", "vgg_weights",
                                                                    "data_b"),
              uses_gpu=True, resumable=True),
    Operation("generate", f"{_B}:run_generate", "Generate images from a model into a folder.",
              required=("model", "out"), path_params=("out", "mix_real"), uses_gpu=True),
    Operation("plugin-install", f"{_B}:run_plugin_install", "Install a plugin with pip.",
              required=("requirement",), path_params=("target",), light=True),
    Operation("plugin-uninstall", f"{_B}:run_plugin_uninstall", "Uninstall a plugin (not a built-in one).",
              required=("name",), path_params=("target",), light=True),
    Operation("stylize-folder", f"{_B}:run_stylize_folder", "Stylize files and folders.",
              required=("model", "inputs", "out"), path_params=("out", "style", "report_file"), uses_gpu=True,
              resumable=True),
    Operation("translate-folder", f"{_B}:run_stylize_folder", "Translate files and folders (translators).",
              required=("model", "inputs", "out"), path_params=("out", "report_file"), uses_gpu=True,
              resumable=True),
    Operation("restore-folder", f"{_B}:run_restore_folder", "Inpaint, denoise or upscale files and folders.",
              required=("model", "inputs", "out"), path_params=("out", "mask", "mask_dir", "report_file"),
              uses_gpu=True, resumable=True),
    Operation("export", f"{_B}:run_export", "Export a model to ONNX (parity checked).",
              required=("model",), path_params=("model", "out"), uses_gpu=False),
    Operation("eval", f"{_B}:run_eval", "Evaluate a model against real images.",
              required=("model", "data"), path_params=("model", "data"), uses_gpu=True),
    Operation("reconstruct", f"{_B}:run_reconstruct", "Encode and decode images through an autoencoder.",
              required=("model", "inputs", "out"), path_params=("model", "out"), uses_gpu=True),
    Operation("interpolate", f"{_B}:run_interpolate", "A latent path between two images (autoencoders).",
              required=("model", "image_a", "image_b", "out"), path_params=("model", "image_a", "image_b", "out"),
              uses_gpu=True),
    Operation("walk", f"{_B}:run_walk", "A latent walk through seeds as an animated GIF/WebP or frames.",
              required=("model", "seeds", "out"), path_params=("out",), uses_gpu=True),
    Operation("draw-steps", f"{_B}:run_draw_steps", "How a model draws in steps (DRAW), as an animated GIF/WebP "
              "or frames.", required=("model", "out"), path_params=("out",), uses_gpu=True),
    Operation("demo", f"{_B}:run_demo", "The demo: a shapes set, a small cgan trained on it, a grid, the ONNX "
              "export and the grid stylized.", required=("out",), path_params=("out",), uses_gpu=True,
              resumable=True),
)


def load_runner(target: str) -> Runner:
    """Import "module:function" (in the child process)."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def check_operations(operations: Any) -> list[Operation]:
    """A register_operations hook's result, checked: a list of Operation with unique, well-formed kinds."""
    from genstudio.backends import checked_descriptors

    operations = checked_descriptors(operations, Operation, "register_operations", "kind")
    for op in operations:
        if op.target is not None and ":" not in op.target:
            raise ValueError(f"operation {op.kind!r}: target must look like 'package.module:function'")
    return list(operations)
