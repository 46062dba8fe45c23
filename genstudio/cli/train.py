"""`genstudio train BACKEND --data DIR --out MODEL_DIR ...`: train a backend on an image folder."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, SET_OPTION, console, console_err, print_json, shown
from genstudio.cli.progress import ProgressBar


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
    data_b: Path | None = typer.Option(None, "--data-b",
                                       help="Domain B's image folder (cyclegan: config data_b; --data is A)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", min=1,
                                         help="Steps between checkpoints (one is always written at the end and on "
                                              "Ctrl-C); a run killed outright resumes from the last one."),
    sample_every: str = typer.Option("auto", "--sample-every",
                                     help="Sample grids (OUT/samples.png): every N steps, every N seconds (30s, 2m) "
                                          "or auto (the first within a minute, then spaced to the run's speed)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train a backend; Ctrl-C stops cleanly with a resumable checkpoint."""
    from genstudio.operations.train import train as train_operation

    stop = {"requested": False}

    def request_stop(signum, frame) -> None:
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True
        console_err.print("stopping after this step (Ctrl-C again to abort without a checkpoint)")

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        with ProgressBar(enabled=not as_json) as bar:
            summary = train_operation(backend=backend, data=data, out=out, steps=steps, epochs=epochs,
                                      resolution=resolution, batch_size=batch_size, device=device, seed=seed,
                                      assignments=assignments, style=style, styles=styles, vgg_weights=vgg_weights,
                                      data_b=data_b, resume=resume, checkpoint_every=checkpoint_every,
                                      sample_every=sample_every,
                                      progress=bar, abort=lambda: stop["requested"])
    finally:
        signal.signal(signal.SIGINT, previous)
    if as_json:
        print_json(summary.to_dict())
        return
    losses = "  ".join(f"{name} {value:.4g}" for name, value in summary.final_losses.items())
    state = "stopped (resume with --resume)" if summary.cancelled else "trained"
    console.print(f"{state}: {summary.steps} steps in {summary.seconds:.1f}s ({summary.images_per_second:.0f} img/s)"
                  f" on {summary.device}; {losses}", highlight=False)
    console.print(f"model: {shown(summary.model_dir)}", highlight=False)
