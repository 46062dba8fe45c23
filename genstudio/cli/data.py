"""`genstudio data check DIR`: what a dataset folder holds and which files cannot be used."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, console_err, print_json, shown
from genstudio.cli.progress import ProgressBar

app = typer.Typer(help="Inspect image dataset folders.", no_args_is_help=True)


@app.command("check")
def check(
    folder: Path = typer.Argument(..., help="A folder of images; first-level subfolders are classes."),
    resolution: int = typer.Option(64, "--resolution", "-r", min=1, max=4096, help="Side of the square images."),
    channels: int = typer.Option(3, "--channels", min=1, max=3, help="1 for grayscale, 3 for RGB."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Keep decoded tensors for the next run."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Decode every image once and report counts, classes and unusable files (exit 1 if any were skipped)."""
    from genstudio.data import ImageFolderDataset

    if channels == 2:
        raise typer.BadParameter("channels must be 1 or 3", param_hint="--channels")
    with ProgressBar(enabled=not as_json) as bar:
        dataset = ImageFolderDataset(folder, resolution, channels, cache=cache, progress=bar)
    report = dataset.report
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(shown(report.summary()), highlight=False)
        for bad in report.skipped[:20]:
            console_err.print(f"  skipped {shown(bad.path)}: {shown(bad.reason)}", highlight=False)
        if len(report.skipped) > 20:
            console_err.print(f"  ... and {len(report.skipped) - 20} more")
    if report.skipped:
        raise typer.Exit(1)
