"""`genstudio stylize MODEL_OR_BACKEND INPUT... --out DIR` (and `genstudio translate`, the same command for
translator backends): stylize or translate files and whole folders through the batch pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from genstudio.cli.output import JSON_OPTION, SET_OPTION, console, console_err, print_json, shown
from genstudio.cli.progress import ProgressBar


def stylize(
    model: str = typer.Argument(..., help="A trained stylizer or translator model folder, or a backend id that "
                                "needs no training (e.g. gatys)."),
    inputs: list[Path] = typer.Argument(..., help="Image files and folders."),
    out: Path = typer.Option(..., "--out", help="Output folder; the input tree is mirrored inside it."),
    style: Path | None = typer.Option(None, "--style", help="Style image (for backends that take one)."),
    direction: str | None = typer.Option(None, "--direction", help="Translators with two directions: which one "
                                         "(see `genstudio backends show`)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Include subfolders."),
    glob: str | None = typer.Option(None, "--glob", help="Only files whose name matches, e.g. '*.jpg'."),
    strength: float | None = typer.Option(None, "--strength", min=0.0, max=1.0,
                                          help="0 = the content, 1 = full style; default: the model's setting."),
    preserve_color: bool | None = typer.Option(None, "--preserve-color/--no-preserve-color",
                                               help="Keep the content's colours; default: the model's setting."),
    max_size: int | None = typer.Option(None, "--max-size", min=16, help="Downscale inputs larger than this."),
    tile: int | None = typer.Option(None, "--tile", min=64, help="Process larger images in tiles of this size."),
    overlap: int = typer.Option(32, "--overlap", min=0, help="Tile overlap in pixels."),
    fmt: str = typer.Option("png", "--format", help="png, jpg or webp (jpg/webp get a .json provenance sidecar)."),
    quality: int = typer.Option(92, "--quality", min=1, max=100, help="jpg/webp quality."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that are up to date."),
    workers: int = typer.Option(2, "--workers", min=1, help="Decoding/encoding threads."),
    assignments: list[str] = SET_OPTION,
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps (torch runtime)."),
    runtime: str = typer.Option("auto", "--runtime", help="torch, onnx, or auto (ONNX when exported)."),
    provider: str = typer.Option("auto", "--provider", help="onnxruntime provider: auto, cpu, cuda or tensorrt."),
    report: Path | None = typer.Option(None, "--report", help="Write the JSON summary to this file too."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Stylize or translate images; bad files are skipped and listed, reruns skip finished outputs (exit 1 if any
    failed)."""
    from genstudio.batch.stylize import stylize_folder

    with ProgressBar(enabled=not as_json) as bar:
        summary = stylize_folder(model, inputs, out, style=style, direction=direction, strength=strength,
                                 preserve_color=preserve_color,
                                 assignments=assignments, device=device, runtime=runtime, provider=provider,
                                 recursive=recursive, pattern=glob, progress=bar, fmt=fmt, quality=quality,
                                 overwrite=overwrite, max_size=max_size, tile=tile, overlap=overlap,
                                 workers=workers, report_file=report)
    print_batch_summary(summary, as_json)


def print_batch_summary(summary: Any, as_json: bool) -> None:
    """How a folder batch ended (stylize, translate, restore): the JSON summary, or a line and the skipped inputs
    with their reasons; a plugin's tracebacks with --debug. Exits with the summary's code (1 if any failed)."""
    from genstudio.errors import debug_enabled

    debug = debug_enabled()  # genstudio --debug
    if as_json:
        print_json(summary.to_dict())  # a plugin's failures carry their "traceback" here, --debug or not
    else:
        state = "stopped" if summary.cancelled else "done"
        console.print(f"{state}: {summary.written} written, {summary.up_to_date} already up to date, "
                      f"{len(summary.failed) + len(summary.passed_over)} skipped in {summary.seconds:.1f}s "
                      f"({summary.images_per_second:.2f} img/s) -> {shown(summary.out)}", highlight=False)
        for entry in summary.failed + summary.passed_over:
            console_err.print(f"[yellow]skipped[/] {shown(entry['path'])}: {shown(entry['reason'])}", highlight=False)
            if debug and entry.get("traceback"):  # a plugin's bug: where it happened
                console_err.print(entry["traceback"].rstrip(), markup=False, highlight=False, soft_wrap=True)
        if not debug and any(entry.get("traceback") for entry in summary.failed):
            console_err.print("(a plugin failed: run with --debug for the traceback)", highlight=False)
    if as_json and debug:  # stdout stays JSON; the tracebacks go to stderr as well
        for entry in summary.failed:
            if entry.get("traceback"):
                console_err.print(f"{entry['path']}:\n{entry['traceback'].rstrip()}", markup=False,
                                  highlight=False, soft_wrap=True)
    raise typer.Exit(summary.exit_code)
