"""The built-in job runners, run in child processes: adapters from a job's params to the operation's core function.

Every runner takes (params, progress, abort) and returns a JSON-safe dict (see genstudio.jobs.runners). Heavy
imports happen inside the runner, so naming one costs nothing. Parameters mirror the CLI's options:

train:           backend, data, out (required); steps | epochs; resolution; batch_size (64); device ("auto");
                 seed (0); config {field: value} and/or set ["field=value", ...]; style, styles, vgg_weights,
                 data_b (as the CLI's --style/--styles/--vgg-weights/--data-b); threads (torch CPU threads);
                 checkpoint_every, keep_checkpoints, sample_every, sample_count, ema_decay, grad_clip, amp,
                 log_every, deterministic (as genstudio.training.fit). A retried train job continues from the
                 last checkpoint in `out` (params["resume"] is set by the queue).
generate:        model, out (required); count or per_class; seed, label, truncation, truncation_cutoff, mix_with,
                 mix_from, grid, batch_size, device, first_index, overwrite, layout, mix_real (as
                 genstudio.generate_folder.generate_to_folder); caption (a text or a list: count images of each).
plugin-install:  requirement (required); target, upgrade, no_build_isolation (as `genstudio plugins install`).
plugin-uninstall: name (required); target (as `genstudio plugins uninstall`). Both are light: a worker runs them
                 beside a training run instead of after it.
stylize-folder:  model (a model folder or backend id), inputs (list of files/folders), out (required); style,
                 strength, preserve_color, set, device, runtime, provider, recursive, pattern, fmt, quality,
                 overwrite, max_size, tile, overlap, workers, report_file (as `genstudio stylize`). A retry
                 skips every output already written (journal and provenance).
export:          model (required); out, opset, fp16, check (as `genstudio export`).
eval:            model, data (required); metrics, count, features, seed, k, batch_size, device, save.
reconstruct:     model, inputs, out (required); compare, label, device (as `genstudio reconstruct`).
interpolate:     model, image_a, image_b, out (required); steps, label, device (as `genstudio interpolate`).
translate-folder: the stylize-folder runner for translators; direction instead of style/strength.
restore-folder:  model, inputs, out (required); task, mask, mask_dir, set, device, runtime, provider, recursive,
                 pattern, fmt, quality, overwrite, max_size, tile, overlap, workers, report_file (as
                 `genstudio restore`, genstudio.batch.restore.restore_folder). A retry skips what is written.
walk:            model, seeds ("1,7,3" or a list), out (required); frames, loop, fps, format, index,
                 label, truncation, truncation_cutoff, mix_with, mix_from, batch_size, device, runtime,
                 provider, config, set, overwrite (as `genstudio walk`; genstudio.walk.walk_to_file).
draw-steps:      model, out (required); seed, index, count, columns, label, truncation, fps, hold, loop, format,
                 device, runtime, provider, overwrite (as `genstudio draw-steps`; genstudio.operations.draw_steps).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, EventSink

TRAIN_PARAMS = {"backend", "data", "out", "steps", "epochs", "resolution", "batch_size", "device", "seed", "config",
                "set", "style", "styles", "vgg_weights", "data_b", "threads", "resume"}
FIT_OPTIONS = {"checkpoint_every", "keep_checkpoints", "sample_every", "sample_count", "ema_decay", "grad_clip", "amp",
               "log_every", "deterministic"}
GENERATE_OPTIONS = {"seed", "label", "truncation", "grid", "batch_size", "device", "first_index", "overwrite",
                    "runtime", "provider", "config", "truncation_cutoff", "mix_with", "mix_from", "per_class", "layout",
                    "mix_real"}
STYLIZE_PARAMS = {"model", "inputs", "out", "style", "direction", "strength", "preserve_color", "set", "device",
                  "runtime", "provider", "recursive", "pattern", "fmt", "quality", "overwrite", "max_size", "tile",
                  "overlap", "workers", "report_file", "resume"}
EXPORT_PARAMS = {"model", "out", "opset", "fp16", "check"}
EVAL_PARAMS = {"model", "data", "metrics", "count", "features", "seed", "k", "batch_size", "device", "save"}
INSTALL_PARAMS = {"requirement", "target", "upgrade", "no_build_isolation"}
UNINSTALL_PARAMS = {"name", "target"}


def _check_params(kind: str, params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise UserError(f"a {kind} job does not take the parameter(s) {', '.join(unknown)}; "
                        f"it takes {', '.join(sorted(allowed))}")


def _as_dict(summary: Any) -> dict[str, Any]:
    return dataclasses.asdict(summary) if dataclasses.is_dataclass(summary) else dict(vars(summary))


def run_train(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Train like `genstudio train` (genstudio.operations.train); returns the TrainingSummary as a dict
    (cancelled=True if stopped early). A retried job (params["resume"]) continues from the last checkpoint."""
    _check_params("train", params, TRAIN_PARAMS | FIT_OPTIONS)
    from genstudio.operations.train import train
    from genstudio.training.checkpoints import list_checkpoints

    options = {name: params[name] for name in TRAIN_PARAMS | FIT_OPTIONS if name in params and name != "set"}
    options["resume"] = bool(params.get("resume")) and bool(list_checkpoints(params["out"]))
    summary = train(**options, assignments=params.get("set"), progress=progress, abort=abort)
    return summary.to_dict()


def _model_or_backend(model: Any) -> str:
    """A model folder as an absolute path (jobs run elsewhere than where they were added), a backend id as is."""
    from pathlib import Path

    path = Path(str(model)).expanduser()
    return str(path.resolve()) if path.exists() else str(model)


def run_generate(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Generate images into a folder like `genstudio generate`; returns the GenerateSummary as a dict."""
    _check_params("generate", params, GENERATE_OPTIONS | {"model", "out", "count", "caption"})
    from genstudio.generate_folder import generate_to_folder

    options = {name: params[name] for name in GENERATE_OPTIONS if name in params}
    if params.get("caption") not in (None, "", []):  # the declared caption input: one text or a list of them
        options["captions"] = [str(c) for c in params["caption"]] if isinstance(params["caption"], list) \
            else [str(params["caption"])]
    count = int(params["count"]) if params.get("count") is not None else None
    summary = generate_to_folder(_model_or_backend(params["model"]), params["out"], count=count,
                                 progress=progress, abort=abort, **options)
    return _as_dict(summary)


def run_plugin_install(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Install a plugin like `genstudio plugins install` (genstudio.operations.plugins.install_plugin); pip's
    output goes to the log. Returns InstallResult.to_dict(): added_plugins, added_backends, pip_exit_code, ...
    """
    _check_params("plugin-install", params, INSTALL_PARAMS)
    from genstudio.operations.plugins import install_plugin

    result = install_plugin(requirement=str(params["requirement"]),
                            target=str(params["target"]) if params.get("target") else None,
                            upgrade=bool(params.get("upgrade")),
                            no_build_isolation=bool(params.get("no_build_isolation")),
                            progress=progress, abort=abort)
    return result.to_dict()


def run_plugin_uninstall(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Uninstall a plugin like `genstudio plugins uninstall` (genstudio.operations.plugins.uninstall_plugin);
    returns UninstallResult.to_dict(): distribution, removed_plugins, removed_backends, ..."""
    _check_params("plugin-uninstall", params, UNINSTALL_PARAMS)
    from genstudio.operations.plugins import uninstall_plugin

    return uninstall_plugin(name=str(params["name"]), target=str(params["target"]) if params.get("target") else None,
                            progress=progress, abort=abort).to_dict()


def run_stylize_folder(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Stylize like `genstudio stylize`; returns the batch summary. Failed inputs are listed, not fatal."""
    _check_params("stylize-folder", params, STYLIZE_PARAMS)
    from pathlib import Path

    from genstudio.batch.stylize import stylize_folder

    options = {k: v for k, v in params.items() if k not in {"model", "inputs", "out", "set", "resume"}}
    inputs = params["inputs"] if isinstance(params["inputs"], list) else [params["inputs"]]
    summary = stylize_folder(_model_or_backend(params["model"]),
                             [str(Path(i).expanduser().resolve()) for i in inputs], params["out"],
                             assignments=list(params.get("set") or []), progress=progress, abort=abort, **options)
    if summary.cancelled:
        raise Cancelled("stylize-folder")
    return summary.to_dict()


RESTORE_PARAMS = {"model", "inputs", "out", "task", "mask", "mask_dir", "set", "device", "runtime", "provider",
                  "recursive", "pattern", "fmt", "quality", "overwrite", "max_size", "tile", "overlap", "workers",
                  "report_file", "resume"}


def run_restore_folder(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Restore like `genstudio restore`; returns the batch summary. Failed inputs (a missing mask) are listed."""
    _check_params("restore-folder", params, RESTORE_PARAMS)
    from pathlib import Path

    from genstudio.batch.restore import restore_folder

    options = {k: v for k, v in params.items() if k not in {"model", "inputs", "out", "set", "resume"}}
    inputs = params["inputs"] if isinstance(params["inputs"], list) else [params["inputs"]]
    summary = restore_folder(_model_or_backend(params["model"]),
                             [str(Path(i).expanduser().resolve()) for i in inputs], params["out"],
                             assignments=list(params.get("set") or []), progress=progress, abort=abort, **options)
    if summary.cancelled:
        raise Cancelled("restore-folder")
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


RECONSTRUCT_PARAMS = {"model", "inputs", "out", "compare", "label", "device"}
INTERPOLATE_PARAMS = {"model", "image_a", "image_b", "out", "steps", "label", "device"}


def run_reconstruct(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """Reconstruct like `genstudio reconstruct` (genstudio.operations.autoencode); failed inputs are listed."""
    _check_params("reconstruct", params, RECONSTRUCT_PARAMS)
    from pathlib import Path

    from genstudio.operations.autoencode import reconstruct

    inputs = params["inputs"] if isinstance(params["inputs"], list) else [params["inputs"]]
    options = {k: v for k, v in params.items() if k != "inputs"}
    result = reconstruct(inputs=[Path(str(i)).expanduser().resolve() for i in inputs], **options, progress=progress,
                         abort=abort)
    return result.to_dict()


def run_interpolate(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """A latent path between two images like `genstudio interpolate` (genstudio.operations.autoencode)."""
    _check_params("interpolate", params, INTERPOLATE_PARAMS)
    from genstudio.operations.autoencode import interpolate

    return interpolate(**params, progress=progress, abort=abort).to_dict()


WALK_PARAMS = {"model", "seeds", "out", "frames", "loop", "fps", "format", "index", "label", "truncation",
               "truncation_cutoff", "mix_with", "mix_from", "batch_size", "device", "runtime", "provider", "config",
               "set", "overwrite"}


def run_walk(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """A latent walk through seeds written as an animation, like `genstudio walk` (genstudio.walk)."""
    _check_params("walk", params, WALK_PARAMS)
    from genstudio.walk import walk_to_file

    options = {k: v for k, v in params.items() if k not in {"model", "out", "set"}}
    summary = walk_to_file(_model_or_backend(params["model"]), params["out"], **options,
                           assignments=list(params.get("set") or []), progress=progress, abort=abort)
    return summary.to_dict()


DRAW_STEPS_PARAMS = {"model", "out", "seed", "index", "count", "columns", "label", "truncation", "fps", "hold", "loop",
                     "format", "device", "runtime", "provider", "overwrite"}


def run_draw_steps(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """The drawing steps of a model's images as an animation, like `genstudio draw-steps`."""
    _check_params("draw-steps", params, DRAW_STEPS_PARAMS)
    from genstudio.operations.draw_steps import draw_steps

    options = {k: v for k, v in params.items() if k not in {"model", "out"}}
    return draw_steps(_model_or_backend(params["model"]), params["out"], **options, progress=progress,
                      abort=abort).to_dict()


DEMO_PARAMS = {"out", "steps", "device", "seed", "resume"}


def run_demo(params: dict[str, Any], progress: EventSink, abort: AbortCheck) -> dict[str, Any]:
    """`genstudio demo` as a job (the app's Help > Run the demo); a retry carries on from what is done."""
    _check_params("demo", params, DEMO_PARAMS)
    from genstudio.operations.demo import run_demo as demo

    options = {key: params[key] for key in ("steps", "device", "seed") if params.get(key) is not None}
    result = demo(out=params["out"], **options, progress=progress, abort=abort).to_dict()
    return {**result, "files": [result["grid"], result["stylized"]]}  # what the app opens in its gallery
