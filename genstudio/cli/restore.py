"""`genstudio restore MODEL INPUT... --task inpaint|denoise|upscale [--mask FILE | --mask-dir DIR] --out DIR`:
restore files and whole folders through the batch pipeline (genstudio.batch.restore)."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, SET_OPTION
from genstudio.cli.progress import ProgressBar
from genstudio.cli.stylize import print_batch_summary


def restore(
    model: str = typer.Argument(..., help="A trained restorer model folder, or a restorer backend id that needs no "
                                "training (latent-inpaint with --set source=MODEL)."),
    inputs: list[Path] = typer.Argument(..., help="Image files and folders."),
    out: Path = typer.Option(..., "--out", help="Output folder; the input tree is mirrored inside it."),
    task: str | None = typer.Option(None, "--task", help="inpaint, denoise or upscale (the backend's tasks; see "
                                    "`genstudio backends show`); default: the first the model learnt."),
    mask: Path | None = typer.Option(None, "--mask", help="inpaint: one mask for every image, white where filled."),
    mask_dir: Path | None = typer.Option(None, "--mask-dir", help="inpaint: a mask per image, matched by name "
                                         "(sub/a.png for sub/a.jpg)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Include subfolders."),
    glob: str | None = typer.Option(None, "--glob", help="Only files whose name matches, e.g. '*.jpg'."),
    max_size: int | None = typer.Option(None, "--max-size", min=16, help="Downscale inputs larger than this."),
    tile: int | None = typer.Option(None, "--tile", min=64, help="Process larger images in tiles of this size."),
    overlap: int = typer.Option(16, "--overlap", min=0, help="Tile overlap in pixels."),
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
    """Inpaint, denoise or upscale images; bad files and missing masks are skipped and listed, reruns skip finished
    outputs (exit 1 if any failed)."""
    from genstudio.batch.restore import restore_folder

    with ProgressBar(enabled=not as_json) as bar:
        summary = restore_folder(model, inputs, out, task=task, mask=mask, mask_dir=mask_dir,
                                 assignments=assignments, device=device, runtime=runtime, provider=provider,
                                 recursive=recursive, pattern=glob, progress=bar, fmt=fmt, quality=quality,
                                 overwrite=overwrite, max_size=max_size, tile=tile, overlap=overlap,
                                 workers=workers, report_file=report)
    print_batch_summary(summary, as_json)
