"""`genstudio info IMAGE` and `genstudio reproduce IMAGE --out FILE`: how an image was made, and making it again."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, print_json, shown
from genstudio.errors import UserError


def info(
    image: Path = typer.Argument(..., help="An image written by genstudio."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the provenance an image carries: model, seed, parameters, runtime, device, time."""
    from genstudio.batch.writer import provenance_of

    record, _ = provenance_of(image)
    if record is None:
        raise UserError(f"{image} carries no genstudio provenance (a PNG's own, or a JPEG/WebP's .json sidecar)")
    if as_json:
        print_json(record)
        return
    from rich.table import Table

    # provenance read from a file is untrusted: every key and value is shown as text, never as markup or escapes
    table = Table(show_header=False, title=shown(image), title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in record.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={json.dumps(v)}" for k, v in value.items())
        table.add_row(shown(key), shown(value))
    console.print(table)


def reproduce(
    image: Path = typer.Argument(..., help="An image written by genstudio."),
    out: Path = typer.Option(..., "--out", help="The file to write the re-created image to."),
    model: str | None = typer.Option(None, "--model", help="The model folder, when it moved since."),
    source: str | None = typer.Option(None, "--input", help="The stylized input image, when it moved since."),
    style: str | None = typer.Option(None, "--style", help="The style image, when it moved since."),
    mask: str | None = typer.Option(None, "--mask", help="The inpainting mask, when it moved since."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-create an image from its provenance and compare it with the original (exit 1 if pixels differ).
    Works for generated, stylized and restored images (PNG, or JPEG/WebP with their .json sidecar); --out takes the
    original's format."""
    from genstudio.cli.progress import ProgressBar
    from genstudio.reproduce import reproduce as run

    with ProgressBar(enabled=not as_json) as bar:  # a recorded optimisation may take minutes: show it
        result = run(image, out, model=model, source=source, style=style, mask=mask, overwrite=overwrite,
                     progress=bar)
    if as_json:
        print_json(result.to_dict())
    elif result.identical:
        console.print(f"{shown(result.out)}: identical pixels ({result.runtime}, {result.device})", highlight=False)
    else:
        console.print(f"{shown(result.out)}: pixels differ by up to {result.max_difference}/255 ({result.runtime}, "
                      f"{result.device})", highlight=False)
    if not result.identical:
        raise typer.Exit(1)
