"""Qt-free: the images the app makes in process (a handful, on a worker thread): Generate, the latent strip and
Stylize, each through the same core functions as the CLI and the job queue, so the same request gives the same
pixels and the same provenance, and every image the app shows can be saved and remade by `genstudio reproduce`.

A `Source` is what makes images: a trained model folder, or a backend that needs no training (procedural
generators, `gatys`) built from the parameters form. Generate and the latent strip sample an opened
`genstudio.generate_folder.Sampler` (the one `genstudio generate` uses); Stylize runs
`genstudio.batch.stylize.stylize_folder` (`genstudio stylize`) on the one content file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.backends import BackendKind
from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, never_abort

GENERATING_KINDS = (BackendKind.GENERATOR, BackendKind.AUTOENCODER)  # both follow the generator contract
STYLIZE_INPUTS = "stylize-inputs"  # under the data folder: canvas pixels saved as files, so reproduce finds them
STYLIZE_SCRATCH = "stylize"  # under the cache folder: where the pipeline writes before the app reads the result


@dataclass(frozen=True)
class Source:
    """A model folder, or a backend id with its config (for backends that need no training)."""

    backend: str
    folder: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"  # "auto", "cpu", "cuda", ... (the app's device setting)

    @property
    def title(self) -> str:
        return self.folder.name if self.folder else self.backend

    @property
    def target(self) -> str:
        """What the core functions take: the model folder's absolute path, or the backend id."""
        return str(Path(self.folder).resolve()) if self.folder is not None else self.backend


@dataclass
class Generated:
    """One image made in process: H x W x C uint8 pixels, a title and its provenance record."""

    pixels: np.ndarray
    title: str
    record: dict[str, Any]


def why_not_generate(spec: Any, has_model: bool) -> str:
    """'' when Generate can run for this backend (and model), else the one-line reason (a tooltip)."""
    if spec.kind not in GENERATING_KINDS:
        return f"{spec.name} is a {spec.kind.value}: it does not generate images from noise"
    if spec.capabilities.trainable and not has_model:
        return f"{spec.name} needs training first: use Train…, or pick one of its trained models in the library"
    return ""


# ---------------------------------------------------------------------------------------------------------------
# Generators: one opened Sampler, reused while the source stays the same


_cache: dict[tuple, Any] = {}  # the last source opened -> its Sampler, reused by the next request for it


def _key(source: Source) -> tuple:
    """Same key, same sampler: a folder by its path and weights (retrained weights reopen it), a backend id by
    its settings; both by device."""
    from genstudio.fileio import sha256_file
    from genstudio.models import WEIGHTS_FILE

    if source.folder is not None:
        weights = Path(source.folder) / WEIGHTS_FILE
        return ("folder", source.target, sha256_file(weights) if weights.is_file() else "", source.device)
    return ("backend", source.backend, json.dumps(source.config, sort_keys=True, default=str), source.device)


def _sampler(source: Source, truncation: float = 1.0):
    """The Sampler for `source` (opened as `genstudio generate` opens it, or the cached one)."""
    from genstudio.generate_folder import open_sampler

    key = _key(source)
    sampler = _cache.get(key)
    if sampler is None:
        sampler = open_sampler(source.target, device=source.device, truncation=truncation,
                               config=None if source.folder is not None else dict(source.config))
        _cache.clear()
        _cache[key] = sampler
    elif truncation != 1.0 and sampler.spec.capabilities.truncation == "none":  # what open_sampler checks
        raise UserError(f"backend {sampler.spec.id!r} does not support truncation")
    return sampler


def class_names(source: Source) -> list[str]:
    """Names (or numbers) of the classes a conditional source can draw; [] when unconditional."""
    sampler = _sampler(source)
    return [str(sampler.label_name(i)) for i in range(sampler.num_classes)]


def caption_vocabulary(source: Source) -> tuple[list[str], int] | None:
    """(the words, the longest caption in tokens) of a caption model, for the caption box; None for other sources."""
    sampler = _sampler(source)
    if not sampler.takes_captions:
        return None
    tokenizer = sampler.tokenizer
    return list(tokenizer.words), tokenizer.max_tokens


def style_layers(source: Source) -> int:
    """How many style layers a style-based source has (crossover layers are 1 .. n - 1); 0 for other sources."""
    return _sampler(source).num_ws


def generate(
    source: Source,
    *,
    seed: int,
    count: int,
    label: str | int | None = None,  # class name or number; None cycles through the classes
    truncation: float = 1.0,
    truncation_cutoff: int | None = None,  # style-based sources: truncate the layers below this only
    mixing: Any = None,  # style-based sources: genstudio.generation.Mixing (styles from another seed)
    caption: str | None = None,  # caption models: what to draw (as `--caption`)
    abort: AbortCheck = never_abort,
) -> Iterator[Generated]:
    """Images 0..count-1 of `seed`, one at a time (so the canvas fills as they come); Cancelled on abort. The
    pixels and records are those of `genstudio generate SOURCE --seed S --count N` (time aside), with
    `--truncation-cutoff` and `--mix-with/--mix-from` when given."""
    from genstudio.provenance import to_uint8

    if count < 1:
        raise UserError(f"count must be at least 1, got {count}")
    sampler = _sampler(source, truncation)
    label_index = sampler.resolve_label(label)
    (caption,), _ = sampler.resolve_captions(caption)  # checked against the declared caption input, cleaned
    for sample in sampler.samples(seed, list(range(count)), label=label_index, truncation=truncation,
                                  batch_size=8, truncation_cutoff=truncation_cutoff, mixing=mixing, caption=caption):
        if abort():
            raise Cancelled("generate")
        title = f"seed {seed} #{sample.index}"
        if sample.label is not None:
            title += f" · {sampler.label_name(sample.label)}"
        if mixing is not None:
            title += f" · seed {mixing.seed} from layer {mixing.layer}"
        if caption is not None:
            title += f" · {caption}"
        yield Generated(to_uint8(sample.image), title, sampler.record(
            seed, sample.index, sample.label, truncation, truncation_cutoff=truncation_cutoff, mixing=mixing,
            caption=caption))


def mixing_grid(
    source: Source,
    *,
    row_seeds: list[int],  # each row: image 0 of this seed gives the coarse styles (layers below `layer`)
    column_seeds: list[int],  # each column: image 0 of this seed gives the styles from `layer` on
    layer: int,  # the crossover layer, 1 .. num_ws - 1
    label: str | int | None = None,
    truncation: float = 1.0,
    truncation_cutoff: int | None = None,
    abort: AbortCheck = never_abort,
) -> Iterator[Generated]:
    """The style-mixing grid (Karras et al. 2019, figure 3), row by row: cell (r, c) is image 0 of row seed r with
    the styles from `layer` on taken from column seed c, the image `genstudio generate SOURCE --seed r --count 1
    --mix-with c --mix-from LAYER` makes (pixels and record), so each cell can be saved and reproduced."""
    from genstudio.sampling import Mixing

    if not row_seeds or not column_seeds:
        raise UserError("the style-mixing grid needs at least one row seed and one column seed")
    sampler = _sampler(source, truncation)
    sampler.check_style_options(truncation_cutoff, Mixing(column_seeds[0], layer))
    for row in row_seeds:
        for column in column_seeds:
            mixing = Mixing(int(column), int(layer))
            for item in generate(source, seed=int(row), count=1, label=label, truncation=truncation,
                                 truncation_cutoff=truncation_cutoff, mixing=mixing, abort=abort):
                yield Generated(item.pixels, f"seed {row} × seed {column} (from layer {layer})", item.record)


def interpolate(
    source: Source,
    *,
    seed_a: int,
    seed_b: int,
    steps: int,
    index: int = 0,
    label: str | int | None = None,
    abort: AbortCheck = never_abort,
) -> Iterator[Generated]:
    """The latent strip: image `index` of seed_a morphing into image `index` of seed_b in `steps` slerp steps;
    each record (operation "interpolate-seeds") lets `genstudio reproduce` redo that step."""
    from genstudio.provenance import to_uint8

    if steps < 2:
        raise UserError(f"steps must be at least 2, got {steps}")
    sampler = _sampler(source)
    for step, image, record in sampler.interpolation(seed_a, seed_b, steps, index=index,
                                                     label=sampler.resolve_label(label)):
        if abort():
            raise Cancelled("interpolate")
        yield Generated(to_uint8(image), f"t = {step / (steps - 1):.2f}", record)


@dataclass
class Walk:
    """A latent walk made in process: its frames (C x H x W tensors, what `genstudio.walk.save_walk` writes) and the
    walk's provenance record."""

    frames: list[Any]
    record: dict[str, Any]

    @property
    def pixels(self) -> list[np.ndarray]:
        from genstudio.provenance import to_uint8

        return [to_uint8(frame) for frame in self.frames]


def latent_walk(source: Source, request: Any, *, abort: AbortCheck = never_abort) -> Walk:
    """The frames of a latent walk (`request`: a genstudio.walk.WalkRequest; its label a class name or number),
    drawn through the same Sampler and functions as `genstudio walk`, so exporting them gives that command's bytes;
    Cancelled on abort."""
    from dataclasses import replace

    from genstudio import walk
    from genstudio.events import Progress

    sampler = _sampler(source, request.truncation)
    request = walk.prepared(sampler, replace(request, label=sampler.resolve_label(request.label)))
    frames = walk.frame_images(sampler, request, batch_size=8,
                               progress=Progress(None, "Latent walk", total=request.frames, abort=abort))
    return Walk(frames, walk.record(sampler, request))


# ---------------------------------------------------------------------------------------------------------------
# Stylizers


IMAGE_TO_IMAGE = ("stylizer", "translator")  # kinds the Stylize box runs (a translator with its direction)


def why_not_stylize(spec: Any, has_model: bool) -> str:
    """'' when Stylize (or Translate) can run for this backend (and model), else the one-line reason."""
    if spec.kind.value not in IMAGE_TO_IMAGE:
        return ""  # neither a stylizer nor a translator: the Stylize controls are hidden anyway
    if spec.capabilities.trainable and not has_model:
        return f"{spec.name} needs a trained model: use Train…, or pick one of its trained models in the library"
    return ""


def save_content(pixels: np.ndarray, record: dict[str, Any] | None = None) -> Path:
    """Canvas pixels that have no file, saved as a PNG (with their own record, when they have one) in the app's
    data folder, where `genstudio reproduce` finds them later as the stylized image's input. Named by content:
    the same pixels and record are one file however often they are stylized."""
    import hashlib
    import io

    from genstudio import paths
    from genstudio.fileio import atomic_write_bytes
    from genstudio.provenance import PNG_COMPRESS_LEVEL, png_bytes, to_pil

    if record:
        data = png_bytes(pixels, record)
    else:
        buffer = io.BytesIO()
        to_pil(pixels).save(buffer, "PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
        data = buffer.getvalue()
    path = paths.data_dir() / STYLIZE_INPUTS / f"canvas-{hashlib.sha256(data).hexdigest()[:16]}.png"
    if not path.is_file() or path.read_bytes() != data:
        atomic_write_bytes(path, data)
    return path


def stylize(
    source: Source,
    content: np.ndarray | str | Path,  # an image file, or H x W x C uint8 pixels (saved first: see save_content)
    style: str | Path | None = None,  # the style image, for backends that take one
    *,
    direction: str | None = None,  # a two-way translator's direction (None: its first choice)
    choices: dict[str, Any] | None = None,  # declared choice inputs by name, as the CLI's option (`--style moss`)
    strength: float | None = None,  # None: the model's or settings' own (as the CLI without --strength)
    preserve_color: bool | None = None,  # None: the model's or settings' own
    max_size: int | None = None,  # the pipeline's --max-size: inputs larger than this are scaled down first
    content_record: dict[str, Any] | None = None,  # the provenance of `content` pixels, kept in their file
    abort: AbortCheck = never_abort,
    progress: Callable[[Any], None] | None = None,  # receives the pipeline's genstudio events
) -> Generated:
    """One stylized image: `genstudio stylize SOURCE CONTENT --out SCRATCH` with the same settings, run on the
    pipeline into a scratch folder under the app's cache, read back (pixels and provenance) and removed."""
    import tempfile

    from PIL import Image

    from genstudio import paths
    from genstudio.batch.stylize import stylize_folder
    from genstudio.plugins import get_registry
    from genstudio.provenance import read_provenance

    spec = get_registry().backend(source.backend)
    if spec.capabilities.needs_style_image and style is None:
        raise UserError(f"{spec.name} needs a style image: pick one under Stylize")
    if isinstance(content, (str, Path)):
        content_path = Path(content).expanduser().resolve()
    else:
        content_path = save_content(np.asarray(content), content_record)
    if abort():
        raise Cancelled("stylize")
    scratch_root = paths.cache_dir() / STYLIZE_SCRATCH
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=scratch_root) as scratch:
        summary = stylize_folder(
            source.target, [content_path], scratch, style=style, direction=direction, choices=choices,
            strength=strength, preserve_color=preserve_color,
            config=None if source.folder is not None else dict(source.config), device=source.device,
            max_size=max_size, fmt="png", overwrite=True, workers=1, progress=progress, abort=abort)
        if summary.cancelled:
            raise Cancelled("stylize")
        if summary.failed or summary.passed_over or summary.written != 1:
            problems = summary.failed or summary.passed_over
            raise UserError(problems[0]["reason"] if problems else f"{content_path.name}: nothing was written")
        (made,) = Path(scratch).rglob("*.png")
        record = read_provenance(made)
        with Image.open(made) as image:
            pixels = np.asarray(image.convert("RGB")).copy()
    if record is None:
        raise UserError(f"stylizing {content_path.name} wrote no provenance")
    name = Path(content).stem if isinstance(content, (str, Path)) else "image"
    return Generated(pixels, f"{name} · {record.get('backend', source.backend)}", record)
