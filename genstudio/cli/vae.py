"""`genstudio reconstruct` and `genstudio interpolate` for autoencoder models (VAE family).

Thin adapters over genstudio.operations.autoencode: parse the options, run the operation under a progress bar,
print its result (text, or JSON with --json). Exit code 1 when some reconstruct inputs could not be read.
"""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, print_json, shown

# --------------------------------------------------------------------------------------------------------------
# genstudio reconstruct


def reconstruct(
    model: Path = typer.Argument(..., help="A trained autoencoder model folder."),
    inputs: list[Path] = typer.Argument(..., help="Image files or folders of images."),
    out: Path = typer.Option(..., "--out", help="Folder to write <name>.png reconstructions into (created)."),
    compare: bool = typer.Option(False, "--compare", help="Also write <name>-compare.png: input | reconstruction."),
    label: str | None = typer.Option(None, "--label", help="Class name or number (conditional models)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Encode and decode images through an autoencoder model (the posterior mean's decoding)."""
    from genstudio.cli.progress import ProgressBar
    from genstudio.operations.autoencode import reconstruct as run

    with ProgressBar(enabled=not as_json) as bar:
        result = run(model=model, inputs=list(inputs), out=out, compare=compare, label=label, device=device,
                     progress=bar)
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(f"{len(result.written)} reconstruction(s) in {shown(out)}"
                      + (f"; {len(result.failed)} input(s) skipped" if result.failed else ""), highlight=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


# --------------------------------------------------------------------------------------------------------------
# genstudio interpolate


def interpolate(
    model: Path = typer.Argument(..., help="A trained autoencoder model folder."),
    image_a: Path = typer.Argument(..., help="The image the path starts from."),
    image_b: Path = typer.Argument(..., help="The image the path ends at."),
    steps: int = typer.Option(8, "--steps", min=2, help="Images along the path, both ends included."),
    out: Path = typer.Option(..., "--out", help="Folder to write step-000.png ... and strip.png into (created)."),
    label: str | None = typer.Option(None, "--label", help="Class name or number (conditional models)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Decode a path through latent space between two images: spherical interpolation (slerp) between their
    posterior means, so the ends reconstruct the two inputs."""
    from genstudio.cli.progress import ProgressBar
    from genstudio.operations.autoencode import interpolate as run

    with ProgressBar(enabled=not as_json) as bar:
        result = run(model=model, image_a=image_a, image_b=image_b, out=out, steps=steps, label=label,
                     device=device, progress=bar)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"{steps} images from {shown(image_a.name)} to {shown(image_b.name)} in {shown(out)}; "
                  f"strip: {shown(result.strip)}",
                  highlight=False)
