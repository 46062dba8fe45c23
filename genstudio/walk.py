"""A latent walk: a smooth, looping or open path through the latents of a few seeds, drawn by any generator and
written as an animated GIF/WebP or a folder of PNG frames (`genstudio walk`, walk jobs, the app's Latent walk).

The path visits image `index` of each seed in turn. Between two seeds it follows the great circle (slerp, Shoemake
1985; White 2016 "Sampling Generative Networks") in Z, the space every generator shares, so the latents keep the
norm typical of Gaussian noise instead of dipping toward the mean halfway. A style-based generator maps each point
to W and applies the request's truncation (toward w_avg, below the cutoff) and style mixing there (the fine styles
from image `index` of `mix_with`, fixed along the whole walk), exactly as `genstudio generate` does, so the
truncation, cutoff and mixing are graph inputs of its ONNX export and `--runtime onnx` walks too. (Lerp in W, the
path Karras et al. 2019 measure perceptual path length on, would need the mapping and synthesis graphs as two
sessions; slerp in Z keeps one graph and one path for every generator.)

Frame f of F lies at position p = f (S / (F - 1)) along the S = len(seeds) - 1 segments (ends included), or
p = f S / F with S = len(seeds) when looping, so the last frame leads back into the first without repeating it.

Every frame is computed through the opened `genstudio.generate_folder.Sampler` (the one `generate` uses) and
carries the walk's record (operation "latent-walk", with its frame number), which `genstudio reproduce` redoes.
The same request gives the same animation bytes; the records' time follows `SOURCE_DATE_EPOCH` (see
genstudio.provenance), and a walk already written from the same record is left alone.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.latents import LEGACY_RULE, RULE, record_rule

OPERATION = "latent-walk"
MAX_SEEDS = 64


@dataclass(frozen=True)
class WalkRequest:
    """What a walk draws; the parameters its record keeps."""

    seeds: tuple[int, ...]  # the seeds visited, in order (image `index` of each)
    frames: int = 24  # frames in the whole animation
    loop: bool = False  # close the path back to the first seed (and loop the animation)
    fps: float = 12.0  # frames per second of the animation
    index: int = 0  # which image of each seed
    label: int | None = None  # conditional models: the class of every frame (None: the class image `index` gets)
    truncation: float = 1.0
    truncation_cutoff: int | None = None  # style-based generators
    mix_with: int | None = None  # style-based generators: fine styles from image `index` of this seed ...
    mix_from: int | None = None  # ... from this layer on
    latents: str = RULE  # how the latents are drawn (genstudio.latents); an older record's: the legacy rule

    def check(self) -> None:
        """UserError (one line) for a request no generator can draw."""
        from genstudio.animation import MAX_FRAMES

        if len(self.seeds) < 2:
            raise UserError(f"a walk needs at least 2 seeds (e.g. --seeds 1,7,3), got {len(self.seeds)}")
        if len(self.seeds) > MAX_SEEDS:
            raise UserError(f"a walk visits at most {MAX_SEEDS} seeds, got {len(self.seeds)}")
        if any(seed < 0 for seed in self.seeds) or self.index < 0:
            raise UserError("seeds and the image index must be >= 0")
        if not 2 <= self.frames <= MAX_FRAMES:
            raise UserError(f"--frames must be from 2 to {MAX_FRAMES}, got {self.frames}")
        if not 0 < self.fps <= 100:
            raise UserError(f"--fps must be above 0 and at most 100, got {self.fps:g}")
        if (self.mix_with is None) != (self.mix_from is None):
            raise UserError("style mixing needs both --mix-with SEED and --mix-from LAYER")

    @property
    def mixing(self) -> Any:
        from genstudio.sampling import Mixing

        return Mixing(int(self.mix_with), int(self.mix_from)) if self.mix_with is not None else None

    def parameters(self) -> dict[str, Any]:
        parameters = {key: value for key, value in asdict(self).items()
                      if value is not None and (key, value) != ("latents", LEGACY_RULE)}  # what no "latents" means
        parameters["seeds"] = list(self.seeds)
        return parameters

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> WalkRequest:
        """The request a record's parameters describe (untrusted: wrong types raise ValueError/TypeError)."""
        def optional(name: str) -> int | None:
            return None if parameters.get(name) is None else int(parameters[name])

        return cls(tuple(int(seed) for seed in parameters["seeds"]), int(parameters["frames"]),
                   bool(parameters.get("loop", False)), float(parameters.get("fps", 12.0)),
                   int(parameters.get("index", 0)), optional("label"), float(parameters.get("truncation", 1.0)),
                   optional("truncation_cutoff"), optional("mix_with"), optional("mix_from"),
                   record_rule(parameters))


def parse_seeds(text: str | list[Any] | tuple[Any, ...]) -> tuple[int, ...]:
    """"1,7,3" (or a list) -> (1, 7, 3); UserError for anything but whole numbers."""
    parts = [str(part).strip() for part in (text.split(",") if isinstance(text, str) else text)]
    try:
        return tuple(int(part) for part in parts if part)
    except ValueError:
        raise UserError(f"--seeds takes whole numbers separated by commas (e.g. 1,7,3), got {text!r}") from None


def positions(seed_count: int, frames: int, loop: bool) -> list[tuple[int, float]]:
    """(segment, t) of each frame: segment k runs from seed k to seed k + 1 (the first again when looping)."""
    segments = seed_count if loop else seed_count - 1
    steps = frames if loop else frames - 1
    found = []
    for frame in range(frames):
        segment, rest = divmod(frame * segments, steps)  # exact: no float drift at the seeds themselves
        if segment == segments:  # the last frame of an open walk: the end of the last segment
            segment, rest = segments - 1, steps
        found.append((segment, rest / steps))
    return found


def latents(request: WalkRequest, latent_dim: int, frames: list[int] | None = None) -> Any:
    """len(frames) x latent_dim: the slerp path's latents at `frames` (default: all)."""
    import torch

    from genstudio.generation import latent, slerp

    ends = [latent(seed, request.index, latent_dim, request.latents) for seed in request.seeds]
    path = positions(len(request.seeds), request.frames, request.loop)
    chosen = range(request.frames) if frames is None else frames
    points = []
    for frame in chosen:
        segment, t = path[frame]
        points.append(slerp(ends[segment], ends[(segment + 1) % len(ends)], t))
    return torch.stack(points)


def prepared(sampler: Any, request: WalkRequest) -> WalkRequest:
    """The request checked against this generator, with the class every frame draws filled in."""
    from dataclasses import replace

    from genstudio.generation import check_truncation, label_for

    request.check()
    check_truncation(request.truncation)
    if request.truncation != 1.0 and sampler.spec.capabilities.truncation == "none":
        raise UserError(f"backend {sampler.spec.id!r} does not support truncation")
    sampler.check_style_options(request.truncation_cutoff, request.mixing)
    label = sampler.resolve_label(request.label)  # one line for a label the model does not have
    if sampler.num_classes and label is None:
        label = label_for(request.index, None, sampler.num_classes)
    return replace(request, label=label)


def record(sampler: Any, request: WalkRequest) -> dict[str, Any]:
    """The walk's provenance (each frame adds its number as "frame")."""
    parameters = request.parameters()
    if request.label is not None:
        parameters["label_name"] = sampler.label_name(request.label)
    return sampler.record(request.seeds[0], request.index, request.label, request.truncation, OPERATION, parameters)


def frame_images(sampler: Any, request: WalkRequest, frames: list[int] | None = None, *, batch_size: int = 16,
                 progress: Progress | None = None) -> list[Any]:
    """The images (C x H x W tensors in [0, 1]) of `frames` (default: all) of a prepared request."""
    import torch

    from genstudio.generation import images_from_latents, latent, truncate

    chosen = list(range(request.frames)) if frames is None else list(frames)
    module, device = sampler.module, sampler.torch_device or "cpu"
    mix_z = latent(request.mix_with, request.index, sampler.latent_dim, request.latents) \
        if request.mix_with is not None else None
    images = []
    for start in range(0, len(chosen), max(1, batch_size)):
        if progress is not None:
            progress.check_abort()
        batch = chosen[start:start + batch_size]
        z = latents(request, sampler.latent_dim, batch)
        if request.truncation != 1.0 and not sampler.style_based:
            z = truncate(module, z, request.truncation, sampler.spec.capabilities.truncation)
        labels = torch.full((len(batch),), request.label, dtype=torch.long, device=device) \
            if sampler.num_classes else None
        drawn = images_from_latents(module, z, labels, truncation=request.truncation,
                                    style_based=sampler.style_based, truncation_cutoff=request.truncation_cutoff,
                                    mix_z=mix_z.expand(len(batch), -1) if mix_z is not None else None,
                                    mix_from=request.mix_from, device=device)
        images.extend(drawn)
        if progress is not None:
            progress.update(advance=len(batch))
    return images


@dataclass
class WalkSummary:
    """What a walk run did; `genstudio walk --json` prints it."""

    model: str
    out: str
    seeds: list[int]
    frames: int
    format: str  # gif | webp | frames
    written: bool = False  # False: the walk there was already made from the same record
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    frames_per_second_computed: float = 0.0
    runtime: str = "torch"
    device: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)




def save_walk(images: list[Any], walk_record: dict[str, Any], out: str | Path, *, format: str | None = None,
              overwrite: bool = False) -> tuple[list[Path], bool]:
    """Write a walk's frames with `genstudio.animation.save_animation` (fps and loop from the record); returns the
    files and whether they were written (False: the same walk was already there, left alone)."""
    from genstudio.animation import animation_files, animation_format, save_animation, saved_record
    from genstudio.provenance import without_time

    out = Path(out)
    kind = animation_format(out, format)
    parameters = walk_record["parameters"]
    if not overwrite and without_time(saved_record(out, kind)) == without_time(walk_record):
        return animation_files(out, kind, int(parameters["frames"])), False
    files = save_animation(images, out, format=kind, fps=float(parameters["fps"]), loop=bool(parameters["loop"]),
                           record=walk_record)
    return files, True




def walk_to_file(
    model_dir: str | Path,  # a generator's model folder, or a backend id that needs no training
    out: str | Path,  # walk.gif, walk.webp, or a folder (no suffix) of PNG frames
    *,
    seeds: str | list[int] | tuple[int, ...],  # "1,7,3" or [1, 7, 3]
    frames: int = 24,
    loop: bool = False,
    fps: float = 12.0,
    format: str | None = None,  # gif | webp | frames; default from out's suffix
    index: int = 0,
    label: str | int | None = None,  # class name or number; default: the class image `index` gets
    truncation: float = 1.0,
    truncation_cutoff: int | None = None,
    mix_with: int | None = None,
    mix_from: int | None = None,
    batch_size: int = 16,  # frames per forward pass (does not change the frames)
    device: str = "auto",
    runtime: str = "auto",
    provider: str = "auto",
    config: dict[str, Any] | None = None,
    assignments: list[str] = (),
    overwrite: bool = False,  # rewrite even when the walk there was made from the same record
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> WalkSummary:
    """The latent walk operation: open the generator, draw every frame, write the animation."""
    from genstudio.animation import animation_files, animation_format, saved_record
    from genstudio.generate_folder import open_sampler

    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    request = WalkRequest(parse_seeds(seeds), int(frames), bool(loop), float(fps), int(index), None,
                          float(truncation), truncation_cutoff, mix_with, mix_from)
    request.check()
    kind = animation_format(out, format)
    sampler = open_sampler(model_dir, device=device, runtime=runtime, provider=provider, truncation=truncation,
                           config=config, assignments=assignments)
    from dataclasses import replace

    request = prepared(sampler, replace(request, label=sampler.resolve_label(label)))
    walk_record = record(sampler, request)
    summary = WalkSummary(sampler.model_ref, str(out), list(request.seeds), request.frames, kind,
                          runtime=sampler.runtime, device=sampler.device_text)
    if sampler.fell_back:
        summary.notes.append("onnxruntime could not use the GPU and ran on the CPU")
    from genstudio.provenance import without_time

    started = time.perf_counter()
    if not overwrite and without_time(saved_record(Path(out), kind)) == without_time(walk_record):
        summary.files = [str(path) for path in animation_files(Path(out), kind, request.frames)]
        return summary
    reporter = Progress(progress, f"Walking through {len(request.seeds)} seeds with {sampler.spec.id}",
                        total=request.frames, abort=abort)
    images = frame_images(sampler, request, batch_size=batch_size, progress=reporter)
    computed = time.perf_counter() - started
    files, summary.written = save_walk(images, walk_record, out, format=kind, overwrite=True)
    summary.files = [str(path) for path in files]
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.frames_per_second_computed = round(request.frames / computed, 1) if computed > 0 else 0.0
    reporter.finish(f"{request.frames} frames")
    return summary


def reproduce_frame(sampler: Any, walk_record: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(image, record) of the frame a frame's record names, redrawn on `sampler` (genstudio reproduce)."""
    request = WalkRequest.from_parameters(walk_record.get("parameters") or {})
    frame = int(walk_record["frame"])
    request = prepared(sampler, request)
    if not 0 <= frame < request.frames:
        raise UserError(f"the image records frame {frame} of a {request.frames}-frame walk")
    (image,) = frame_images(sampler, request, [frame], batch_size=1)
    return image, {**record(sampler, request), "frame": frame}
