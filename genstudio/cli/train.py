"""`genstudio train BACKEND --data DIR --out MODEL_DIR ...`: train a backend on an image folder."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, SET_OPTION, console, console_err, print_json, resolve_config
from genstudio.cli.progress import ProgressBar
from genstudio.errors import UserError


def train(
    backend: str = typer.Argument(..., help="A trainable backend id (see `genstudio backends`)."),
    data: Path = typer.Option(..., "--data", help="Image folder; first-level subfolders are classes."),
    out: Path = typer.Option(..., "--out", help="Model folder to write (checkpoints, samples, model.json)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Train for this many steps."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Or for this many passes over the data."),
    resolution: int | None = typer.Option(None, "--resolution", "-r", min=8, help="Image side (default: backend's)."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Images per step."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    seed: int = typer.Option(0, "--seed", help="Seed for weights, data order and samples."),
    assignments: list[str] = SET_OPTION,
    style: Path | None = typer.Option(None, "--style", help="Style image (fast-style: config style_image)."),
    styles: Path | None = typer.Option(None, "--styles", help="Folder of style images (adain: config style_dir)."),
    vgg_weights: Path | None = typer.Option(None, "--vgg-weights",
                                            help="VGG19 file for style losses (config vgg_weights)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train a backend; Ctrl-C stops cleanly with a resumable checkpoint."""
    from genstudio.data import ImageFolderDataset
    from genstudio.plugins import get_registry
    from genstudio.training import fit

    if steps is not None and epochs is not None:
        raise UserError("give --steps or --epochs, not both")
    spec = get_registry().backend(backend)
    if not spec.capabilities.trainable:
        raise UserError(f"backend {backend!r} is not trainable")
    config = resolve_config(spec, assignments)
    if resolution is not None:
        if "resolution" not in spec.schema:
            raise UserError(f"backend {backend!r} has no resolution setting")
        config = spec.schema.resolve({**config, "resolution": resolution})
    config = _path_options(spec, config, {"style_image": style, "style_dir": styles, "vgg_weights": vgg_weights})
    extra = _backend_extra(spec, config)  # before reading the data: missing pretrained weights fail fast
    image_side = config.get("resolution", resolution or 64)
    channels = config.get("channels", 3)

    stop = {"requested": False}

    def request_stop(signum, frame) -> None:
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True
        console_err.print("stopping after this step (Ctrl-C again to abort without a checkpoint)")

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        with ProgressBar(enabled=not as_json) as bar:
            dataset = ImageFolderDataset(data, image_side, channels, progress=bar)
            if dataset.report.skipped:
                console_err.print(f"[yellow]{dataset.report.summary()}[/]", highlight=False)
            config = _classes_from_data(spec, config, assignments, dataset.classes, resume)
            summary = fit(spec, config, dataset, out, steps=steps, epochs=epochs, batch_size=batch_size, seed=seed,
                          device=device, resume=resume, progress=bar, abort=lambda: stop["requested"])
    finally:
        signal.signal(signal.SIGINT, previous)
    if extra:
        _record_extra(out, extra)
    if as_json:
        print_json(summary.__dict__)
        return
    losses = "  ".join(f"{name} {value:.4g}" for name, value in summary.final_losses.items())
    state = "stopped (resume with --resume)" if summary.cancelled else "trained"
    console.print(f"{state}: {summary.steps} steps in {summary.seconds:.1f}s ({summary.images_per_second:.0f} img/s)"
                  f" on {summary.device}; {losses}", highlight=False)
    console.print(f"model: {summary.model_dir}", highlight=False)


_PATH_OPTIONS = {"style_image": "--style", "style_dir": "--styles", "vgg_weights": "--vgg-weights"}


def _path_options(spec, config: dict, paths: dict[str, Path | None]) -> dict:
    """Put the path options into the config fields of the same meaning; a backend without the field refuses."""
    values = dict(config)
    for name, path in paths.items():
        if path is None:
            continue
        if name not in spec.schema:
            raise UserError(f"backend {spec.id!r} takes no {_PATH_OPTIONS[name]}")
        values[name] = str(path.expanduser().resolve())
    return spec.schema.resolve(values)


def _backend_extra(spec, config: dict) -> dict:
    """What the backend records in model.json besides its weights (e.g. the loss network's name and hash), from
    its optional `model_extra(config)`; locating pretrained weights there makes a missing file an early error."""
    model_extra = getattr(spec.load(), "model_extra", None)
    return dict(model_extra(config)) if callable(model_extra) else {}


def _record_extra(out: Path, extra: dict) -> None:
    from genstudio.models import CARD_FILE, read_card, update_card

    if (out / CARD_FILE).is_file():
        update_card(out, extra={**read_card(out).extra, **extra})


def _classes_from_data(spec, config: dict, assignments: list[str], classes: list[str], resume: bool) -> dict:
    """A conditional backend's num_classes follows the dataset's class folders unless --set gives it (a resumed
    run keeps its checkpoint's)."""
    explicit = spec.schema.parse_assignments(assignments)
    if "num_classes" not in spec.schema or "num_classes" in explicit or resume or len(classes) < 2:
        return config
    return spec.schema.resolve({**config, "num_classes": len(classes)})
