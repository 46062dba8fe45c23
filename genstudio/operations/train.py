"""Train a backend on an image folder: the one function behind `genstudio train`, train jobs and the app's Train
dialog (which queues a train job).

Preparing a run is part of the operation, so every entry point gets the same settings from the same data:
  * the user's values (`config`, then `--set` assignments, then the options with a config field of the same
    meaning: resolution and the path options) win over everything else;
  * settings the schema says come from the dataset are derived from it here, in one place (`derive_config`):
    `channels` (1 for a greyscale folder, from the image headers) and `num_classes` (the class folders);
  * what the backend records besides its weights (`records_extra`: the loss network's hash, the style image's
    hash) is located before the data is read, so a missing pretrained file fails in one line at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress

# Options that are paths into a config field of the same meaning: field -> (job parameter, CLI option)
PATH_FIELDS = {"style_image": ("style", "--style"), "style_dir": ("styles", "--styles"),
               "vgg_weights": ("vgg_weights", "--vgg-weights"), "data_b": ("data_b", "--data-b")}
DERIVED_FIELDS = ("channels", "num_classes")  # set from the dataset unless the user gives them


@dataclass
class PreparedTraining:
    """A run ready to start: the backend, its final config and the decoded dataset."""

    spec: Any  # BackendSpec
    config: dict[str, Any]
    dataset: Any  # ImageFolderDataset
    derived: dict[str, Any]  # the settings taken from the data, for the log
    extra: dict[str, Any]  # the backend's model_extra(config), for model.json


def user_config(spec: Any, *, config: dict[str, Any] | None = None, assignments: list[str] | str | None = None,
                resolution: int | None = None, paths: dict[str, str | os.PathLike[str] | None] | None = None
                ) -> tuple[dict[str, Any], set[str]]:
    """The values the user gave (config mapping, then `key=value` assignments, then options), checked against the
    schema, and the names of the fields they set."""
    values = dict(config or {})
    if isinstance(assignments, str):
        assignments = [assignments]
    values.update(spec.schema.parse_assignments(list(assignments or [])))
    if resolution is not None:
        if "resolution" not in spec.schema:
            raise UserError(f"backend {spec.id!r} has no resolution setting")
        values["resolution"] = int(resolution)
    for name, path in (paths or {}).items():
        if path in (None, ""):
            continue
        if name not in spec.schema:
            raise UserError(f"backend {spec.id!r} takes no {PATH_FIELDS[name][1]}")
        values[name] = str(Path(path).expanduser().resolve())
    spec.schema.resolve(values)  # unknown keys and bad values fail here, before anything is read
    return values, set(values)


def derive_config(spec: Any, values: dict[str, Any], explicit: set[str], scan: Any) -> tuple[dict[str, Any], dict]:
    """The resolved config with the dataset-derived fields the user did not set; and those derived values."""
    from genstudio.captions import VOCABULARY_FIELD, derive_vocabulary
    from genstudio.data import detect_channels
    from genstudio.inputs import InputKind

    derived: dict[str, Any] = {}
    if "channels" in spec.schema and "channels" not in explicit:
        derived["channels"] = detect_channels(scan)
    if "num_classes" in spec.schema and "num_classes" not in explicit and len(scan.classes) >= 2:
        derived["num_classes"] = len(scan.classes)
    captioned = spec.input(InputKind.CAPTION) is not None and VOCABULARY_FIELD in spec.schema
    if captioned and VOCABULARY_FIELD not in explicit:
        derived[VOCABULARY_FIELD] = derive_vocabulary(spec.schema.resolve(values), scan)  # the captions' words
    return spec.schema.resolve({**values, **derived}), derived


@dataclass
class CheckedTraining:
    """A request that passed every check that needs no decoding: the backend, the user's values, the resolved
    config with the dataset-derived settings, and the dataset's scan."""

    spec: Any  # BackendSpec
    values: dict[str, Any]  # what the user set
    config: dict[str, Any]  # resolved, with the derived settings
    derived: dict[str, Any]
    extra: dict[str, Any]  # the backend's model_extra(config)
    scan: Any  # genstudio.data.FolderScan of the (first) dataset folder
    folders: tuple[Path, Path] | None  # the two domains' folders, for two-domain backends


def check_training(
    *,
    backend: str,
    data: str | os.PathLike[str],
    config: dict[str, Any] | None = None,  # field -> value
    assignments: list[str] | str | None = None,  # ["field=value", ...] (--set)
    resolution: int | None = None,
    style: str | os.PathLike[str] | None = None,  # config style_image (fast-style)
    styles: str | os.PathLike[str] | None = None,  # config style_dir (adain)
    vgg_weights: str | os.PathLike[str] | None = None,  # config vgg_weights
    data_b: str | os.PathLike[str] | None = None,  # config data_b: domain B's folder (two-domain backends)
) -> CheckedTraining:
    """Every check of a training request that reads no pixels (the schema, the backend's declared values, the
    dataset's files and classes, pretrained files): what `prepare_training` runs first, and what the app runs
    before it queues a train job, so a bad request is one line at once, never a job failing after minutes."""
    from genstudio.data import scan_folder
    from genstudio.domains import domain_folders, two_domains
    from genstudio.plugins import get_registry
    from genstudio.training.run import model_extra

    spec = get_registry().backend(backend)
    if not spec.capabilities.trainable:
        raise UserError(f"backend {spec.id!r} is not trainable")
    values, explicit = user_config(spec, config=config, assignments=assignments, resolution=resolution,
                                   paths={"style_image": style, "style_dir": styles, "vgg_weights": vgg_weights,
                                          "data_b": data_b})
    folders = domain_folders(data, values.get("data_b")) if two_domains(spec) else None
    scan = scan_folder(folders[0] if folders else data)
    if not scan.files:
        skipped = f"; {len(scan.skipped)} file(s) passed over, e.g. {scan.skipped[0].reason}" if scan.skipped else ""
        raise UserError(f"no images to train on in {scan.root} (a folder of images, or of class folders of "
                        f"images){skipped}")
    resolved, derived = derive_config(spec, values, explicit, scan)
    extra = model_extra(spec, resolved)  # a missing pretrained network or style file fails before the data is read
    return CheckedTraining(spec, values, resolved, derived, extra, scan, folders)


def prepare_training(
    *,
    backend: str,
    data: str | os.PathLike[str],
    config: dict[str, Any] | None = None,  # field -> value
    assignments: list[str] | str | None = None,  # ["field=value", ...] (--set)
    resolution: int | None = None,
    style: str | os.PathLike[str] | None = None,  # config style_image (fast-style)
    styles: str | os.PathLike[str] | None = None,  # config style_dir (adain)
    vgg_weights: str | os.PathLike[str] | None = None,  # config vgg_weights
    data_b: str | os.PathLike[str] | None = None,  # config data_b: domain B's folder (two-domain backends)
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> PreparedTraining:
    """Check the request (`check_training`), then read the dataset."""
    from genstudio.data import ImageFolderDataset
    from genstudio.domains import UnpairedDataset
    from genstudio.inputs import InputKind

    checked = check_training(backend=backend, data=data, config=config, assignments=assignments,
                             resolution=resolution, style=style, styles=styles, vgg_weights=vgg_weights, data_b=data_b)
    spec, resolved, derived, folders = checked.spec, checked.config, checked.derived, checked.folders
    reporter = Progress(progress, f"Preparing {spec.id}")
    if derived:
        reporter.log("from the data: " + ", ".join(f"{key}={value}" if key != "vocabulary" else
                                                   f"vocabulary={len(value.split())} words"
                                                   for key, value in derived.items()))
    side = resolved.get("resolution", resolution or 64)
    if folders:  # two domains: rows of an A and a B image (genstudio.domains)
        dataset = UnpairedDataset(*folders, side, progress=progress, abort=abort)
    else:
        shape = {}  # a non-square backend's images fill its aspect's window, not a centred square of them
        if spec.capabilities.aspect:
            shape = {"aspect": str(resolved.get("aspect", "1:1")),
                     "resize": "pad" if resolved.get("aspect_fit") == "pad" else "center-crop"}
        dataset = ImageFolderDataset(data, side, resolved.get("channels", 3), progress=progress, abort=abort,
                                     **shape)
    if dataset.report.skipped:
        reporter.log(dataset.report.summary(), "warning")
    if spec.input(InputKind.CAPTION) is not None:  # rows of (image, its captions' token ids): genstudio.captions
        from genstudio.captions import caption_training_set

        dataset = caption_training_set(dataset, checked.scan, resolved, reporter.log)
    return PreparedTraining(spec, resolved, dataset, derived, checked.extra)


def train(
    *,
    backend: str,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    steps: int | None = None,
    epochs: int | None = None,
    resolution: int | None = None,
    batch_size: int = 64,
    device: str = "auto",
    seed: int = 0,
    config: dict[str, Any] | None = None,
    assignments: list[str] | str | None = None,
    style: str | os.PathLike[str] | None = None,
    styles: str | os.PathLike[str] | None = None,
    vgg_weights: str | os.PathLike[str] | None = None,
    data_b: str | os.PathLike[str] | None = None,  # domain B's folder, for two-domain backends (cyclegan)
    resume: bool = False,
    threads: int | None = None,  # torch CPU threads while it trains (restored after)
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
    **fit_options: Any,  # checkpoint_every, keep_checkpoints, sample_every, sample_count, ema_decay, ... (fit's)
) -> Any:
    """Prepare and run a training; returns the TrainingSummary (cancelled=True when stopped, resumable)."""
    from genstudio.training import fit

    if steps is not None and epochs is not None:
        raise UserError("give --steps or --epochs, not both")
    previous_threads = None
    if threads:
        import torch

        previous_threads = torch.get_num_threads()
        torch.set_num_threads(int(threads))
    if resume and "vocabulary" not in (config or {}):  # a caption backend resumes with the words it started with
        from genstudio.captions import stored_vocabulary

        stored = stored_vocabulary(out, backend)
        if stored is not None:
            config = {**(config or {}), "vocabulary": stored}
    try:
        prepared = prepare_training(backend=backend, data=data, config=config, assignments=assignments,
                                    resolution=resolution, style=style, styles=styles, vgg_weights=vgg_weights,
                                    data_b=data_b, progress=progress, abort=abort)
        return fit(prepared.spec, prepared.config, prepared.dataset, out, steps=steps, epochs=epochs,
                   batch_size=batch_size, seed=seed, device=device, resume=resume, progress=progress, abort=abort,
                   extra=prepared.extra, **fit_options)
    finally:
        if previous_threads is not None:  # an in-process caller (the demo, a test) keeps its own thread count
            torch.set_num_threads(previous_threads)
