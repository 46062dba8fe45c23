"""`genstudio generate MODEL --count N --out DIR ...`: sample a trained generator into a folder."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, SET_OPTION, console, console_err, print_json, shown
from genstudio.cli.progress import ProgressBar


def generate(
    model: str = typer.Argument(..., help="A trained model folder (model.json + weights.safetensors), or a "
                                "backend id that needs no training (e.g. shapes)."),
    count: int | None = typer.Option(None, "--count", "-n", min=1, help="How many images (default 16)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the PNGs into (created)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Image i of seed s is always the same image."),
    label: str | None = typer.Option(None, "--label", help="Class name or number (conditional models); "
                                     "default: cycle through the classes."),
    captions: list[str] = typer.Option([], "--caption", metavar="TEXT",
                                       help="Caption models: what to draw, in words; repeat for several captions "
                                       "(--count images of each)."),
    truncation: float = typer.Option(1.0, "--truncation", min=0.0, max=1.0,
                                     help="Pull latents toward the mean: 1 = off, lower = safer, less varied."),
    truncation_cutoff: int | None = typer.Option(None, "--truncation-cutoff", min=0,
                                                 help="Style-based generators: truncate only the style layers "
                                                 "below this one (coarse features); default: all."),
    mix_with: int | None = typer.Option(None, "--mix-with", min=0, metavar="SEED",
                                        help="Style-based generators: take the styles from --mix-from on from "
                                        "image i of this seed (style mixing)."),
    mix_from: int | None = typer.Option(None, "--mix-from", min=1, metavar="LAYER",
                                        help="The first style layer taken from --mix-with (1 = all but the "
                                        "coarsest; higher = finer features only)."),
    grid: bool = typer.Option(False, "--grid", help="Also write one grid image of them all."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Images per forward pass "
                                   "(does not change the images)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    start: int = typer.Option(0, "--start", min=0, help="Index of the first image (continue a series)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Rewrite files that are already up to date."),
    runtime: str = typer.Option("auto", "--runtime", help="torch, onnx, or auto: ONNX when `genstudio export` "
                                "wrote a parity-checked model.onnx for these weights."),
    provider: str = typer.Option("auto", "--provider", help="onnxruntime provider: auto, cpu, cuda or tensorrt."),
    per_class: int | None = typer.Option(None, "--per-class", min=1, metavar="N",
                                         help="Conditional models: N images of every class (instead of --count)."),
    layout: str = typer.Option("flat", "--layout", help="flat, or folders: one subfolder per class and a "
                               "manifest.json, a dataset ready to train a recogniser on."),
    mix_real: Path | None = typer.Option(None, "--mix-real", metavar="DIR",
                                         help="With --layout folders: also copy the images of this class-folder "
                                         "dataset in (as real-NAME; checked, recorded in the manifest)."),
    assignments: list[str] = SET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate images; each PNG records how it was made (seed, index, model hash, device)."""
    from genstudio.generate_folder import generate_to_folder

    with ProgressBar(enabled=not as_json) as bar:
        summary = generate_to_folder(model, out, count=count, seed=seed, label=label, truncation=truncation,
                                     truncation_cutoff=truncation_cutoff, mix_with=mix_with, mix_from=mix_from,
                                     grid=grid, batch_size=batch_size, device=device, first_index=start,
                                     overwrite=overwrite, runtime=runtime, provider=provider,
                                     assignments=assignments, per_class=per_class, layout=layout,
                                     mix_real=mix_real, captions=captions, progress=bar)
    if as_json:
        print_json(summary.to_dict())
        return
    speed = f" ({summary.images_per_second:.0f} img/s)" if summary.written else ""
    console.print(f"{summary.count} images in {shown(summary.out)}: {summary.written} written, "
                  f"{summary.unchanged} already up to date, {summary.seconds:.1f}s{speed} on {summary.device} "
                  f"({summary.runtime})", highlight=False)
    for note in summary.notes:
        console_err.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
    if summary.grid:
        console.print(f"grid: {shown(summary.grid)}", highlight=False)
    if summary.real:
        console.print(f"real images from {shown(summary.real['source'])}: {summary.real['copied']} copied, "
                      f"{summary.real['unchanged']} already there, {summary.real['skipped']} not usable",
                      highlight=False)
    if summary.manifest:
        console.print(f"manifest: {shown(summary.manifest)}", highlight=False)
