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
    captions = _caption_report(folder)
    if as_json:
        print_json({**report.to_dict(), "captions": captions.to_dict() if captions else None})
    else:
        console.print(shown(report.summary()), highlight=False)
        for bad in report.skipped[:20]:
            console_err.print(f"  skipped {shown(bad.path)}: {shown(bad.reason)}", highlight=False)
        if len(report.skipped) > 20:
            console_err.print(f"  ... and {len(report.skipped) - 20} more")
        if captions:
            _print_captions(captions)
    if report.skipped:
        raise typer.Exit(1)


def _caption_report(folder: Path):
    """The folder's caption report (genstudio.captions), or None when it has neither captions nor classes."""
    from genstudio.captions import read_captions
    from genstudio.data import scan_folder

    _, report = read_captions(scan_folder(folder))
    return report if report.from_files or report.problems or report.from_classes else None


def _print_captions(report) -> None:
    console.print(shown(report.summary()), highlight=False)
    if report.vocabulary:
        more = f" ... (+{len(report.vocabulary) - 30})" if len(report.vocabulary) > 30 else ""
        console.print("  words: " + shown(" ".join(report.vocabulary[:30])) + more, highlight=False)
    for problem in report.problems[:20]:
        console_err.print(f"  caption {shown(problem.path)}: {shown(problem.reason)}", highlight=False)
    for path in report.missing[:5]:
        console_err.print(f"  no caption: {shown(path)}", highlight=False)
    if len(report.missing) > 5:
        console_err.print(f"  ... and {len(report.missing) - 5} more without a caption")


@app.command("shapes")
def shapes(
    out: Path = typer.Argument(..., help="Folder to write the set into (created): <shape>/NNNNN.png + .txt."),
    count: int = typer.Option(300, "--count", "-n", min=1, help="How many images."),
    resolution: int = typer.Option(32, "--resolution", "-r", min=16, max=512, help="Side of the images."),
    seed: int = typer.Option(0, "--seed", min=0, help="The same seed always writes the same set."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a captioned sample set of procedural shapes ("a small red triangle on the left")."""
    from genstudio.errors import UserError

    try:
        from genstudio_shapes.dataset import write_captioned_shapes
    except ImportError:
        raise UserError("the built-in shapes plugin (genstudio_shapes) is not installed") from None
    with ProgressBar(enabled=not as_json) as bar:
        summary = write_captioned_shapes(out, count, resolution, seed, progress=bar)
    if as_json:
        print_json(summary.to_dict())
    else:
        console.print(f"{summary.written} captioned images in {shown(summary.out)}", highlight=False)
