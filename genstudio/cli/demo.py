"""`genstudio demo [--out DIR] [--steps N]`: the main journey on built-in resources (genstudio.operations.demo)."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, print_json, shown
from genstudio.cli.progress import ProgressBar
from genstudio.operations.demo import DEFAULT_STEPS


def demo(
    out: Path = typer.Option(Path("genstudio-demo"), "--out", help="Folder for every result (created; a rerun "
                             "reuses what is up to date)."),
    steps: int = typer.Option(DEFAULT_STEPS, "--steps", min=1, help="Training steps: the default takes a few minutes "
                              "on a CPU; fewer are quicker and blurrier."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sample set, the training and the samples."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Try it: make a sample set of shapes, train a small generator on it, generate a grid, export and check the
    ONNX model, stylize the grid, and print where each result is. Needs no data and no downloads."""
    from genstudio.operations.demo import run_demo

    with ProgressBar(enabled=not as_json) as bar:
        result = run_demo(out=out, steps=steps, device=device, seed=seed, progress=bar)
    if as_json:
        print_json(result.to_dict())
        return
    total = sum(result.seconds.values())
    console.print(f"[bold]genstudio demo[/] done in {total:.0f}s"
                  + ("" if result.trained else " (reused the model trained before)"), highlight=False)
    width = max(len(what) for what, _ in result.lines())
    for what, where in result.lines():
        console.print(f"  {what:<{width}}  {shown(where)}", highlight=False)
    if result.onnx_max_abs_error is not None:
        console.print(f"  ONNX matches PyTorch within {result.onnx_max_abs_error:.2g}", highlight=False)
    console.print(f"next: genstudio generate {shown(result.model)} --label circle --count 8 --out circles",
                  highlight=False)
