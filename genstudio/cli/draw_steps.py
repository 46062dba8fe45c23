"""`genstudio draw-steps MODEL --count 16 --out steps.gif`: how a model that draws in steps (DRAW) draws its
images, the canvas after each step, as an animation."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, console_err, print_json, shown
from genstudio.cli.progress import ProgressBar


def draw_steps(
    model: str = typer.Argument(..., help="A trained model folder of a backend that draws in steps (draw)."),
    out: Path = typer.Option(..., "--out", help="steps.gif, steps.webp, or a folder (no suffix) of PNG frames."),
    count: int = typer.Option(16, "--count", "-n", min=1, help="Images drawn side by side in each frame."),
    seed: int = typer.Option(0, "--seed", min=0, help="Image i of seed s is the image `genstudio generate` makes."),
    start: int = typer.Option(0, "--start", min=0, help="Index of the first image."),
    columns: int | None = typer.Option(None, "--columns", min=1, help="Grid columns; default: about square."),
    label: str | None = typer.Option(None, "--label", help="Class name or number (conditional models); default: "
                                     "cycle through the classes."),
    truncation: float = typer.Option(1.0, "--truncation", min=0.0, max=1.0,
                                     help="Pull latents toward the mean: 1 = off, lower = safer, less varied."),
    fps: float = typer.Option(8.0, "--fps", min=0.1, max=100.0, help="Frames (drawing steps) per second."),
    hold: float = typer.Option(1.0, "--hold", min=0.0, max=60.0, help="Seconds the finished drawing stays "
                               "before the animation starts again."),
    loop: bool = typer.Option(True, "--loop/--once", help="Loop the animation, or play it once."),
    format: str | None = typer.Option(None, "--format", help="gif, webp or frames; default from --out's suffix."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    runtime: str = typer.Option("auto", "--runtime", help="torch, onnx, or auto: ONNX when `genstudio export` "
                                "wrote a parity-checked export of these weights."),
    provider: str = typer.Option("auto", "--provider", help="onnxruntime provider: auto, cpu, cuda or tensorrt."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Rewrite the animation even when it is up to date."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Animate how a model draws: the canvas after each drawing step (t = 1 .. T) of images --start .. of --seed;
    the last frame is what `genstudio generate` makes. Written as a GIF, a WebP or PNG frames with provenance."""
    from genstudio.operations.draw_steps import draw_steps as run

    with ProgressBar(enabled=not as_json) as bar:
        summary = run(model, out, seed=seed, index=start, count=count, columns=columns, label=label,
                      truncation=truncation, fps=fps, hold=hold, loop=loop, format=format, device=device,
                      runtime=runtime, provider=provider, overwrite=overwrite, progress=bar)
    if as_json:
        print_json(summary.to_dict())
        return
    state = (f"written in {summary.seconds:.1f}s on {summary.device} ({summary.runtime})" if summary.written
             else "already up to date")
    console.print(f"{summary.images} image(s) of seed {summary.seed} drawn in {summary.steps} steps -> "
                  f"{shown(summary.out)}: {state}", highlight=False)
    for note in summary.notes:
        console_err.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
