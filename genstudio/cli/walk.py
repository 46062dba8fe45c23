"""`genstudio walk MODEL --seeds 1,7,3 --frames 24 --out walk.gif`: a latent walk through seeds as an animation."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, SET_OPTION, console, console_err, print_json, shown
from genstudio.cli.progress import ProgressBar


def walk(
    model: str = typer.Argument(..., help="A trained generator's model folder, or a backend id that needs no "
                                "training (e.g. shapes)."),
    seeds: str = typer.Option(..., "--seeds", help="The seeds to visit in order, e.g. 1,7,3 (image --index of "
                              "each)."),
    out: Path = typer.Option(..., "--out", help="walk.gif, walk.webp, or a folder (no suffix) of PNG frames."),
    frames: int = typer.Option(24, "--frames", min=2, help="Frames in the whole animation."),
    loop: bool = typer.Option(False, "--loop", help="Walk back to the first seed and loop the animation "
                              "(default: play once, ending at the last seed)."),
    fps: float = typer.Option(12.0, "--fps", min=0.1, max=100.0, help="Frames per second."),
    format: str | None = typer.Option(None, "--format", help="gif, webp or frames; default from --out's suffix."),
    index: int = typer.Option(0, "--index", min=0, help="Which image of each seed (image i of seed s)."),
    label: str | None = typer.Option(None, "--label", help="Class name or number for every frame (conditional "
                                     "models); default: the class image --index gets."),
    truncation: float = typer.Option(1.0, "--truncation", min=0.0, max=1.0,
                                     help="Pull latents toward the mean: 1 = off, lower = safer, less varied."),
    truncation_cutoff: int | None = typer.Option(None, "--truncation-cutoff", min=0,
                                                 help="Style-based generators: truncate only the style layers "
                                                 "below this one."),
    mix_with: int | None = typer.Option(None, "--mix-with", min=0, metavar="SEED",
                                        help="Style-based generators: every frame takes its styles from "
                                        "--mix-from on from image --index of this seed."),
    mix_from: int | None = typer.Option(None, "--mix-from", min=1, metavar="LAYER",
                                        help="The first style layer taken from --mix-with."),
    batch_size: int = typer.Option(16, "--batch-size", "-b", min=1, help="Frames per forward pass (does not "
                                   "change the frames)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    runtime: str = typer.Option("auto", "--runtime", help="torch, onnx, or auto: ONNX when `genstudio export` "
                                "wrote a parity-checked model.onnx for these weights."),
    provider: str = typer.Option("auto", "--provider", help="onnxruntime provider: auto, cpu, cuda or tensorrt."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Rewrite the walk even when it is up to date."),
    assignments: list[str] = SET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Walk smoothly through the latents of a few seeds (slerp) and write the frames as an animation; each frame
    records how it was made (a frame folder's PNGs reproduce with `genstudio reproduce`)."""
    from genstudio.walk import walk_to_file

    with ProgressBar(enabled=not as_json) as bar:
        summary = walk_to_file(model, out, seeds=seeds, frames=frames, loop=loop, fps=fps, format=format,
                               index=index, label=label, truncation=truncation, truncation_cutoff=truncation_cutoff,
                               mix_with=mix_with, mix_from=mix_from, batch_size=batch_size, device=device,
                               runtime=runtime, provider=provider, assignments=assignments, overwrite=overwrite,
                               progress=bar)
    if as_json:
        print_json(summary.to_dict())
        return
    state = (f"written in {summary.seconds:.1f}s on {summary.device} ({summary.runtime})" if summary.written
             else "already up to date")
    console.print(f"{summary.frames}-frame walk through seeds {', '.join(map(str, summary.seeds))} -> "
                  f"{shown(summary.out)}: {state}", highlight=False)
    for note in summary.notes:
        console_err.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
