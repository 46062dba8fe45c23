"""Reconstruct and interpolate through an autoencoder model (VAE family): the core of `genstudio reconstruct` and
`genstudio interpolate` (and of their jobs and app actions).

Both work with any backend of kind autoencoder: they use only `encode(x, labels) -> (mu, logvar)` and
`decode(z, labels)`, with labels None for unconditional models (`num_classes` 0) and one class for every image
otherwise. Input images are decoded through the format allowlist, converted to the model's channels and
center-cropped to its resolution, as training does.

Every PNG written records how to make it again (`genstudio reproduce`): the operation, the model folder and its
weights' hash, the inputs' paths and sha256, the parameters and the device. Reconstructions run one image per
forward pass, so an image depends on its own input only (not on which other inputs shared its batch) and its
reproduction is exact; an interpolation path is decoded as a whole, and reproducing a step decodes the same path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.fileio import fit_name, real_folder

if TYPE_CHECKING:
    import torch

    from genstudio.models import LoadedModel

BATCH = 32  # latents per decoder pass along an interpolation path


# --------------------------------------------------------------------------------------------------------------
# The model, its inputs, provenance


@dataclass
class Autoencoder:
    """A loaded autoencoder model and what the operations need to feed it."""

    loaded: LoadedModel
    device: torch.device
    resolution: int
    channels: int
    label: int | None  # the class every image is encoded and decoded with (conditional models), else None

    @property
    def module(self) -> Any:
        return self.loaded.module

    @property
    def folder(self) -> str:
        """The model folder's absolute path, as recorded."""
        return str(Path(self.loaded.folder).resolve())

    def labels(self, count: int) -> torch.Tensor | None:
        import torch

        return None if self.label is None else torch.full((count,), self.label, dtype=torch.long, device=self.device)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Posterior means of N x C x R x R images in [0, 1]."""
        images = images.to(self.device)
        mu, _ = self.module.encode(images, self.labels(len(images)))
        return mu

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] on the CPU."""
        return self.module.decode(z, self.labels(len(z))).float().clamp(0, 1).cpu()

    def record(self, operation: str, parameters: dict[str, Any], **more: Any) -> dict[str, Any]:
        from genstudio.devices import describe_device
        from genstudio.provenance import provenance

        card = self.loaded.card
        return provenance(backend=card.backend, plugin=card.plugin, plugin_version=card.plugin_version,
                          model_sha256=card.weights_sha256, parameters=parameters, runtime="torch",
                          device=describe_device(self.device), operation=operation, model=self.folder, **more)


def load_autoencoder(model: str | os.PathLike[str], device: str, label: str | int | None = None, *,
                     label_index: int | None = None) -> Autoencoder:
    """Load `model` and check it is an autoencoder; resolve `label` (a class name or number) against its classes.
    `label_index` gives the class index itself (as a record stores it) instead of `label`."""
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
    num_classes = int(loaded.module.num_classes or 0)
    class_names = [str(name) for name in loaded.card.extra.get("class_names", [])]
    if label_index is not None:
        if not 0 <= label_index < num_classes:
            raise UserError(f"{model} has no class {label_index}" + (f" (classes 0..{num_classes - 1})"
                                                                     if num_classes else ": it is not conditional"))
        index: int | None = label_index
    else:
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
    """The input's stem (shortened to fit a file name with `-compare.png`), with -2, -3, ... when another input
    already took it."""
    base = fit_name(path.stem, "", limit=200)
    stem, number = base, 2
    while stem in taken:
        stem, number = f"{base}-{number}", number + 1
    taken.add(stem)
    return stem


def side_by_side(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    from genstudio.generation import grid

    return grid([left, right], columns=2)


def reconstruct_image(auto: Autoencoder, image: torch.Tensor) -> torch.Tensor:
    """The decoding of one C x R x R image's posterior mean (one forward pass of its own)."""
    import torch

    with torch.no_grad():
        return auto.decode(auto.encode(image[None]))[0]


def reconstruction_record(auto: Autoencoder, path: Path, sha256: str, *, compare: bool = False) -> dict[str, Any]:
    """The provenance of `path`'s reconstruction (`compare`: of its input | reconstruction image)."""
    parameters: dict[str, Any] = {"label": auto.label}
    if compare:
        parameters["compare"] = True
    return auto.record("reconstruct", parameters, input=str(path.resolve()), input_sha256=sha256)


def interpolation_path(auto: Autoencoder, pair: torch.Tensor, steps: int,
                       check_abort: Callable[[], None] | None = None) -> tuple[list[float], torch.Tensor]:
    """(t for each step, steps x C x R x R images): the decodings along the slerp between the posterior means of
    `pair` (2 x C x R x R), `steps` of them, ends included. `check_abort()` runs before each decoder pass."""
    import torch

    from genstudio.generation import slerp

    with torch.no_grad():
        mu_a, mu_b = auto.encode(pair)
        ts = [i / (steps - 1) for i in range(steps)]
        path = torch.stack([slerp(mu_a, mu_b, t) for t in ts])  # steps x latent_dim
        chunks = []
        for start in range(0, steps, BATCH):
            if check_abort is not None:
                check_abort()
            chunks.append(auto.decode(path[start:start + BATCH]))
    return ts, torch.cat(chunks)


def interpolation_record(auto: Autoencoder, inputs: dict[str, str], steps: int, step: int | None = None,
                         t: float | None = None) -> dict[str, Any]:
    """The provenance of step `step` (at `t`) of an interpolation, or of its strip when `step` is None. `inputs`:
    input_a, input_a_sha256, input_b, input_b_sha256."""
    parameters: dict[str, Any] = {"steps": steps}
    if step is not None:
        parameters.update(step=step, t=t)
    parameters["label"] = auto.label
    return auto.record("interpolate", parameters, **inputs)


def interpolation_inputs(image_a: Path, image_b: Path) -> dict[str, str]:
    from genstudio.fileio import sha256_file

    return {"input_a": str(image_a.resolve()), "input_a_sha256": sha256_file(image_a),
            "input_b": str(image_b.resolve()), "input_b_sha256": sha256_file(image_b)}


def strip_of(images: torch.Tensor) -> torch.Tensor:
    from genstudio.generation import grid

    return grid(list(images), columns=len(images))


# --------------------------------------------------------------------------------------------------------------
# reconstruct


@dataclass
class ReconstructResult:
    model: str
    out: str
    written: list[dict[str, str]]  # {"input", "output"[, "compare"]} per reconstructed input
    failed: list[dict[str, str]]  # {"input", "reason"} per input that could not be read

    @property
    def exit_code(self) -> int:
        """1 when some inputs failed (the others were written), else 0."""
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reconstruct(
    *,
    model: str | os.PathLike[str],
    inputs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    compare: bool = False,
    label: str | int | None = None,
    device: str = "auto",
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> ReconstructResult:
    """Encode and decode images (files, or folders of them) through an autoencoder model: the posterior mean's
    decoding, written to `out`/<name>.png (and <name>-compare.png, input | reconstruction, with `compare`). An
    input that cannot be read is listed in `failed` with its reason and costs only itself."""
    from genstudio.errors import ImageDecodeError
    from genstudio.fileio import sha256_file
    from genstudio.provenance import write_png

    auto = load_autoencoder(model, device, label)
    out_folder = real_folder(out, make=False)  # checked now, made by the first write
    files = expand_inputs([Path(path) for path in inputs])
    tracker = Progress(progress, "Reconstructing", total=len(files), abort=abort)
    written: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    taken: set[str] = set()
    for path in files:
        tracker.check_abort()
        try:
            original = read_image(path, auto)
        except ImageDecodeError as exc:
            failed.append({"input": str(path), "reason": getattr(exc, "reason", str(exc))})
            tracker.log(f"skipped {path}: {failed[-1]['reason']}", "warning")
            tracker.update(advance=1)
            continue
        image = reconstruct_image(auto, original)
        target = out_folder / f"{unique_stem(path, taken)}.png"
        entry = {"input": str(path), "output": str(target)}
        try:
            sha256 = sha256_file(path)
            write_png(target, image, reconstruction_record(auto, path, sha256))
            if compare:
                entry["compare"] = str(target.with_name(f"{target.stem}-compare.png"))
                write_png(entry["compare"], side_by_side(original, image),
                          reconstruction_record(auto, path, sha256, compare=True))
        except OSError as exc:  # costs this input only
            failed.append({"input": str(path), "reason": f"cannot write {target.name}: {exc.strerror or exc}"})
            tracker.log(f"skipped {path}: {failed[-1]['reason']}", "warning")
            tracker.update(advance=1)
            continue
        written.append(entry)
        tracker.update(advance=1)
    tracker.finish(f"{len(written)} reconstruction(s) in {out_folder}"
                   + (f"; {len(failed)} input(s) skipped" if failed else ""))
    return ReconstructResult(str(model), str(out_folder), written, failed)


# --------------------------------------------------------------------------------------------------------------
# interpolate


@dataclass
class InterpolateResult:
    model: str
    out: str
    steps: int
    files: list[str]  # step-000.png ... in order
    strip: str  # all steps side by side

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def interpolate(
    *,
    model: str | os.PathLike[str],
    image_a: str | os.PathLike[str],
    image_b: str | os.PathLike[str],
    out: str | os.PathLike[str],
    steps: int = 8,
    label: str | int | None = None,
    device: str = "auto",
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> InterpolateResult:
    """Decode a path through latent space between two images: spherical interpolation (slerp) between their
    posterior means, so the ends reconstruct the two inputs. Writes `out`/step-000.png ... and strip.png; an
    unreadable input is a UserError and nothing is written."""
    import torch

    if steps < 2:
        raise UserError(f"steps must be at least 2 (both ends), not {steps}")
    auto = load_autoencoder(model, device, label)
    first, second = Path(image_a), Path(image_b)
    pair = torch.stack([read_image(first, auto), read_image(second, auto)])
    inputs = interpolation_inputs(first, second)
    out_folder = real_folder(out, make=False)  # before the work: a file in the way is one line, not a traceback
    tracker = Progress(progress, "Interpolating", total=steps, abort=abort)
    ts, images = interpolation_path(auto, pair, steps, tracker.check_abort)
    files = []
    for index, (t, image) in enumerate(zip(ts, images, strict=True)):
        tracker.check_abort()
        target = out_folder / f"step-{index:03d}.png"
        _write(target, image, interpolation_record(auto, inputs, steps, index, t))
        files.append(str(target))
        tracker.update(advance=1)
    strip = out_folder / "strip.png"
    _write(strip, strip_of(images), interpolation_record(auto, inputs, steps))
    tracker.finish(f"{steps} images from {first.name} to {second.name} in {out_folder}")
    return InterpolateResult(str(model), str(out_folder), steps, files, str(strip))


def _write(target: Path, image: Any, record: dict[str, Any]) -> None:
    from genstudio.provenance import write_png

    try:
        write_png(target, image, record)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
