"""The built-in job runners (train, generate, plugin-install, stylize-folder, export, eval), run in child processes.

Every runner takes (params, progress, abort) and returns a JSON-safe dict (see genstudio.jobs.runners). Heavy
imports happen inside the runner, so naming one costs nothing. Parameters mirror the CLI's options:

train:           backend, data, out (required); steps | epochs; resolution; batch_size (64); device ("auto");
                 seed (0); config {field: value} and/or set ["field=value", ...]; threads (torch CPU threads);
                 checkpoint_every, keep_checkpoints, sample_every, sample_count, ema_decay, grad_clip, amp,
                 log_every, deterministic (as genstudio.training.fit). A retried train job continues from the
                 last checkpoint in `out` (params["resume"] is set by the queue).
generate:        model, out, count (required); seed, label, truncation, grid, batch_size, device, first_index,
                 overwrite (as genstudio.generation.generate_to_folder).
plugin-install:  requirement (required); target, upgrade, no_build_isolation (as `genstudio plugins install`).
stylize-folder:  model (a model folder or backend id), inputs (list of files/folders), out (required); style,
                 strength, preserve_color, set, device, runtime, provider, recursive, pattern, fmt, quality,
                 overwrite, max_size, tile, overlap, workers, report_file (as `genstudio stylize`). A retry
                 skips every output already written (journal and provenance).
export:          model (required); out, opset, fp16, check (as `genstudio export`).
eval:            model, data (required); metrics, count, features, seed, k, batch_size, device, save.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from typing import Any

from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, EventSink, Progress

TRAIN_PARAMS = {"backend", "data", "out", "steps", "epochs", "resolution", "batch_size", "device", "seed", "config",
                "set", "threads", "resume"}
FIT_OPTIONS = {"checkpoint_every", "keep_checkpoints", "sample_every", "sample_count", "ema_decay", "grad_clip", "amp",
               "log_every", "deterministic"}
GENERATE_OPTIONS = {"seed", "label", "truncation", "grid", "batch_size", "device", "first_index", "overwrite"}
STYLIZE_PARAMS = {"model", "inputs", "out", "style", "strength", "preserve_color", "set", "device", "runtime",
                  "provider", "recursive", "pattern", "fmt", "quality", "overwrite", "max_size", "tile", "overlap",
                  "workers", "report_file", "resume"}
EXPORT_PARAMS = {"model", "out", "opset", "fp16", "check"}
EVAL_PARAMS = {"model", "data", "metrics", "count", "features", "seed", "k", "batch_size", "device", "save"}
INSTALL_PARAMS = {"requirement", "target", "upgrade", "no_build_isolation"}


def _check_params(kind: str, params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise UserError(f"a {kind} job does not take the parameter(s) {', '.join(unknown)}; "
                        f"it takes {', '.join(sorted(allowed))}")


def _as_dict(summary: Any) -> dict[str, Any]:
    return dataclasses.asdict(summary) if dataclasses.is_dataclass(summary) else dict(vars(summary))


def run_train(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Train like `genstudio train`; returns the TrainingSummary as a dict (cancelled=True if stopped early)."""
    _check_params("train", params, TRAIN_PARAMS | FIT_OPTIONS)
    from genstudio.data import ImageFolderDataset
    from genstudio.plugins import get_registry
    from genstudio.training import fit
    from genstudio.training.checkpoints import list_checkpoints

    if params.get("threads"):
        import torch

        torch.set_num_threads(int(params["threads"]))
    if params.get("steps") is not None and params.get("epochs") is not None:
        raise UserError("give steps or epochs, not both")
    spec = get_registry().backend(str(params["backend"]))
    if not spec.capabilities.trainable:
        raise UserError(f"backend {spec.id!r} is not trainable")
    values = dict(params.get("config") or {})
    assignments = params.get("set") or []
    values.update(spec.schema.parse_assignments([assignments] if isinstance(assignments, str) else assignments))
    if params.get("resolution") is not None:
        if "resolution" not in spec.schema:
            raise UserError(f"backend {spec.id!r} has no resolution setting")
        values["resolution"] = int(params["resolution"])
    config = spec.schema.resolve(values)
    side = config.get("resolution", params.get("resolution") or 64)
    resume = bool(params.get("resume")) and bool(list_checkpoints(params["out"]))
    dataset = ImageFolderDataset(params["data"], side, config.get("channels", 3), progress=progress, abort=abort)
    if dataset.report.skipped:
        Progress(progress, "Reading images").log(dataset.report.summary(), "warning")
    options = {name: params[name] for name in FIT_OPTIONS if name in params}
    summary = fit(spec, config, dataset, params["out"], steps=params.get("steps"), epochs=params.get("epochs"),
                  batch_size=int(params.get("batch_size", 64)), seed=int(params.get("seed", 0)),
                  device=str(params.get("device", "auto")), resume=resume, progress=progress, abort=abort,
                  **options)
    return _as_dict(summary)


def run_generate(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Generate images into a folder like `genstudio generate`; returns the GenerateSummary as a dict."""
    _check_params("generate", params, GENERATE_OPTIONS | {"model", "out", "count"})
    from genstudio.generation import generate_to_folder

    options = {name: params[name] for name in GENERATE_OPTIONS if name in params}
    summary = generate_to_folder(params["model"], params["out"], count=int(params["count"]), progress=progress,
                                 abort=abort, **options)
    return _as_dict(summary)


def run_plugin_install(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Install a plugin through `genstudio plugins install --json` in a subprocess; pip's output goes to the log.

    Returns {"added_plugins": [...], "added_backends": [...]} as that command prints it.
    """
    _check_params("plugin-install", params, INSTALL_PARAMS)
    requirement = str(params["requirement"])
    command = [sys.executable, "-m", "genstudio", "plugins", "install", requirement, "--json"]
    if params.get("target"):
        command += ["--target", str(params["target"])]
    if params.get("upgrade"):
        command.append("--upgrade")
    if params.get("no_build_isolation"):
        command.append("--no-build-isolation")
    reporter = Progress(progress, f"Installing {requirement}", abort=abort)
    sys.stdout.flush()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True) as process:
        while process.poll() is None:
            if abort():
                process.terminate()
                process.wait()
                raise Cancelled(reporter.task)
            time.sleep(0.2)
        output = process.stdout.read() if process.stdout else ""
    try:
        report = json.loads(output) if output.strip() else {}
    except json.JSONDecodeError:
        report = {}
    if process.returncode == 2 or (process.returncode and not report):
        raise UserError(f"could not install {requirement!r} (exit code {process.returncode}); see the job's log")
    failed = [plugin["name"] for plugin in report.get("added_plugins", []) if plugin.get("status") == "failed"]
    if failed:
        raise UserError(f"installed {requirement!r}, but plugin(s) {', '.join(failed)} failed to load; "
                        f"see `genstudio plugins list --traceback`")
    if not report.get("added_plugins"):
        raise UserError(f"pip installed {requirement!r}, but no new genstudio plugin was found")
    reporter.finish(f"added {', '.join(plugin['name'] for plugin in report['added_plugins'])}")
    return report


def run_stylize_folder(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Stylize like `genstudio stylize`; returns the batch summary. Failed inputs are listed, not fatal."""
    _check_params("stylize-folder", params, STYLIZE_PARAMS)
    from pathlib import Path

    from genstudio.batch.stylize import stylize_folder

    options = {k: v for k, v in params.items() if k not in {"model", "inputs", "out", "set", "resume"}}
    inputs = params["inputs"] if isinstance(params["inputs"], list) else [params["inputs"]]
    model = str(params["model"])
    if Path(model).expanduser().exists():
        model = str(Path(model).expanduser().resolve())
    summary = stylize_folder(model, [str(Path(i).expanduser().resolve()) for i in inputs], params["out"],
                             assignments=list(params.get("set") or []), progress=progress, abort=abort, **options)
    if summary.cancelled:
        raise Cancelled("stylize-folder")
    return summary.to_dict()


def run_export(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    _check_params("export", params, EXPORT_PARAMS)
    from genstudio.export import export_model

    return export_model(params["model"], **{k: v for k, v in params.items() if k != "model"}, progress=progress)


def run_eval(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    _check_params("eval", params, EVAL_PARAMS)
    from genstudio.metrics.model_eval import evaluate_model

    return evaluate_model(params["model"], params["data"], **{k: v for k, v in params.items()
                                                             if k not in {"model", "data"}},
                          progress=progress, abort=abort)
