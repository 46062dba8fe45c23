"""`genstudio reconstruct` and `genstudio interpolate` for autoencoder models (VAE family).

Both work with any backend of kind autoencoder: they use only `encode(x) -> (mu, logvar)` and `decode(z)` (with
labels as a second argument for conditional models, whose `num_classes` is > 0). Input images are decoded through
the format allowlist, converted to the model's channels and center-cropped to its resolution, as training does.
Every PNG written records its provenance (model hash, inputs' sha256, parameters, device).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from genstudio.cli.output import JSON_OPTION, console, console_err, print_json
from genstudio.errors import UserError

if TYPE_CHECKING:
    import torch

    from genstudio.models import LoadedModel

BATCH = 32  # images per forward pass


# --------------------------------------------------------------------------------------------------------------
# Shared: the model, its inputs, provenance


@dataclass
class Autoencoder:
    """A loaded autoencoder model and what the commands need to feed it."""

    loaded: LoadedModel
    device: torch.device
    resolution: int
    channels: int
    label: int | None  # the class every image is encoded and decoded with (conditional models), else None

    @property
    def module(self) -> Any:
        return self.loaded.module

    def labels(self, count: int) -> torch.Tensor | None:
        import torch

        return None if self.label is None else torch.full((count,), self.label, dtype=torch.long, device=self.device)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Posterior means of N x C x R x R images in [0, 1] (on the CPU)."""
        images = images.to(self.device)
        labels = self.labels(len(images))
        mu, _ = self.module.encode(images) if labels is None else self.module.encode(images, labels)
        return mu

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] on the CPU."""
        labels = self.labels(len(z))
        images = self.module.decode(z) if labels is None else self.module.decode(z, labels)
        return images.float().clamp(0, 1).cpu()

    def record(self, parameters: dict[str, Any], **more: Any) -> dict[str, Any]:
        from genstudio.devices import describe_device
        from genstudio.provenance import provenance

        card = self.loaded.card
        return provenance(backend=card.backend, plugin=card.plugin, plugin_version=card.plugin_version,
                          model_sha256=card.weights_sha256, parameters=parameters, runtime="torch",
                          device=describe_device(self.device), **more)


def load_autoencoder(model: Path, device: str, label: str | None) -> Autoencoder:
    """Load `model` and check it is an autoencoder; resolve --label against its classes."""
    from genstudio.backends import BackendKind
    from genstudio.devices import resolve_device
    from genstudio.generation import resolve_label
    from genstudio.models import load_model

    torch_device = resolve_device(device)
    loaded = load_model(model, device=torch_device)
    if loaded.spec.kind != BackendKind.AUTOENCODER:
        raise UserError(f"{model} is a {loaded.spec.kind.value} model (backend {loaded.spec.id}), not an autoencoder; "
                        "reconstruct and interpolate need a VAE")
    config = loaded.card.config
    if "resolution" not in config or "channels" not in config:
        raise UserError(f"{model}: backend {loaded.spec.id} records no resolution and channels in its config")
    num_classes = int(getattr(loaded.module, "num_classes", 0))
    class_names = [str(name) for name in loaded.card.extra.get("class_names", [])]
    index = resolve_label(label, num_classes, class_names)
    if num_classes and index is None:
        known = ", ".join(class_names) if class_names else f"0..{num_classes - 1}"
        raise UserError(f"{model} is a conditional model: pass --label (one of {known})")
    return Autoencoder(loaded, torch_device, int(config["resolution"]), int(config["channels"]), index)


def read_image(path: Path, auto: Autoencoder) -> torch.Tensor:
    """One input as C x R x R in [0, 1]; raises ImageDecodeError (a UserError) with the reason."""
    import numpy as np
    import torch

    from genstudio.data import open_image, resize_square

    image = resize_square(open_image(path, "L" if auto.channels == 1 else "RGB"), auto.resolution)
    pixels = np.asarray(image, dtype=np.uint8)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)  # C x R x R
    return torch.from_numpy(pixels.copy()).float().div_(255.0)


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; folders replaced by the image files below them (sorted). Missing paths stay, to fail later
    with a reason."""
    from genstudio.data import IMAGE_FORMATS

    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_FORMATS)
        else:
            files.append(path)
    return files


def unique_stem(path: Path, taken: set[str]) -> str:
    """The input's stem, with -2, -3, ... when another input already took it."""
    stem, number = path.stem, 2
    while stem in taken:
        stem, number = f"{path.stem}-{number}", number + 1
    taken.add(stem)
    return stem


def side_by_side(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    from genstudio.generation import grid

    return grid([left, right], columns=2)


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
    import torch

    from genstudio.errors import ImageDecodeError
    from genstudio.fileio import sha256_file
    from genstudio.provenance import write_png

    auto = load_autoencoder(model, device, label)
    failed: list[dict[str, str]] = []
    readable: list[tuple[Path, torch.Tensor]] = []
    for path in expand_inputs(inputs):
        try:
            readable.append((path, read_image(path, auto)))
        except ImageDecodeError as exc:
            failed.append({"input": str(path), "reason": getattr(exc, "reason", str(exc))})
            console_err.print(f"skipped {path}: {failed[-1]['reason']}", highlight=False)
    written: list[dict[str, str]] = []
    taken: set[str] = set()
    with torch.no_grad():
        for start in range(0, len(readable), BATCH):
            chunk = readable[start:start + BATCH]
            originals = torch.stack([image for _, image in chunk])
            outputs = auto.decode(auto.encode(originals))
            for (path, original), image in zip(chunk, outputs, strict=True):
                record = auto.record({"label": auto.label}, input=path.name, input_sha256=sha256_file(path))
                target = out / f"{unique_stem(path, taken)}.png"
                write_png(target, image, record)
                entry = {"input": str(path), "output": str(target)}
                if compare:
                    entry["compare"] = str(target.with_name(f"{target.stem}-compare.png"))
                    write_png(entry["compare"], side_by_side(original, image), record)
                written.append(entry)
    if as_json:
        print_json({"model": str(model), "out": str(out), "written": written, "failed": failed})
    else:
        console.print(f"{len(written)} reconstruction(s) in {out}" + (f"; {len(failed)} input(s) skipped"
                                                                      if failed else ""), highlight=False)
    if failed:
        raise typer.Exit(1)


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
    import torch

    from genstudio.fileio import sha256_file
    from genstudio.generation import grid, slerp
    from genstudio.provenance import write_png

    auto = load_autoencoder(model, device, label)
    pair = torch.stack([read_image(image_a, auto), read_image(image_b, auto)])
    inputs = {"input_a": image_a.name, "input_a_sha256": sha256_file(image_a),
              "input_b": image_b.name, "input_b_sha256": sha256_file(image_b)}
    with torch.no_grad():
        mu_a, mu_b = auto.encode(pair)
        ts = [i / (steps - 1) for i in range(steps)]
        path = torch.stack([slerp(mu_a, mu_b, t) for t in ts])  # steps x latent_dim
        images = torch.cat([auto.decode(path[i:i + BATCH]) for i in range(0, steps, BATCH)])
    files = []
    for index, (t, image) in enumerate(zip(ts, images, strict=True)):
        target = out / f"step-{index:03d}.png"
        write_png(target, image, auto.record({"steps": steps, "step": index, "t": t, "label": auto.label}, **inputs))
        files.append(str(target))
    strip = out / "strip.png"
    write_png(strip, grid(list(images), columns=steps), auto.record({"steps": steps, "label": auto.label}, **inputs))
    if as_json:
        print_json({"model": str(model), "out": str(out), "steps": steps, "files": files, "strip": str(strip)})
        return
    console.print(f"{steps} images from {image_a.name} to {image_b.name} in {out}; strip: {strip}", highlight=False)
