"""The drawing steps of a generator that draws in steps (capability `drawing_steps`, e.g. DRAW): the canvas after
each step t = 1 .. T, written as an animated GIF/WebP or a folder of PNG frames. The one function behind
`genstudio draw-steps`, draw-steps jobs and the app's steps player (`write_steps`; the player shows `frames`).

The images are those `genstudio generate` makes: image i of seed s starts from the latent `generation.latent(s, i)`
(with the same truncation), through the same opened `genstudio.generate_folder.Sampler`, so the last frame of image
i is, pixel for pixel, generate's `seed<s>-<i>.png` on the same runtime. Several images are tiled into one grid per
frame (`generation.grid`). On the ONNX runtime the frames come from the exported steps graph (`model.steps.onnx`,
checked against its recorded sha256 like the main graph).

The animation's record (operation "draw-steps") names the model, its weights' sha256, the seed, the images and
the animation's settings; each PNG of a frame folder adds its frame number, and an animated file has it as a
`.json` sidecar (`genstudio.animation.save_animation`). An animation already written from the same record is left
alone, so the same command twice leaves the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.latents import LEGACY_RULE, RULE, record_rule

OPERATION = "draw-steps"
MAX_IMAGES = 256  # images one animation tiles
STEPS_GRAPH = "steps"  # the exported graph of the drawing steps (model.steps.onnx)


@dataclass(frozen=True)
class StepsRequest:
    """What an animation of drawing steps shows; the parameters its record keeps."""

    seed: int = 0
    index: int = 0  # the first image: images index .. index + count - 1 of the seed
    count: int = 1  # images tiled into each frame
    columns: int | None = None  # grid columns; None: about square
    label: int | None = None  # conditional models: every image's class (None: cycling, as generate does)
    truncation: float = 1.0
    fps: float = 8.0
    hold: float = 1.0  # seconds the finished drawing stays on screen before the animation loops
    loop: bool = True
    latents: str = RULE  # how the latents are drawn (genstudio.latents); an older record's: the legacy rule

    def check(self) -> None:
        if self.seed < 0 or self.index < 0:
            raise UserError(f"seeds and indices must be >= 0, got seed {self.seed}, index {self.index}")
        if not 1 <= self.count <= MAX_IMAGES:
            raise UserError(f"--count must be from 1 to {MAX_IMAGES} (images tiled into each frame), got {self.count}")
        if self.columns is not None and not 1 <= self.columns <= self.count:
            raise UserError(f"--columns must be from 1 to --count ({self.count}), got {self.columns}")
        if not 0 < self.fps <= 100:
            raise UserError(f"--fps must be above 0 and at most 100, got {self.fps:g}")
        if not 0 <= self.hold <= 60:
            raise UserError(f"--hold must be from 0 to 60 seconds, got {self.hold:g}")

    @property
    def indices(self) -> list[int]:
        return list(range(self.index, self.index + self.count))

    def parameters(self) -> dict[str, Any]:  # the legacy latent rule is what a record without "latents" means
        return {key: value for key, value in asdict(self).items()
                if value is not None and (key, value) != ("latents", LEGACY_RULE)}


class StepDrawer:
    """A model that draws in steps, opened on its runtime (the Sampler `genstudio generate` uses)."""

    def __init__(self, sampler: Any, onnx_steps: Any = None):
        self.sampler = sampler
        self.onnx_steps = onnx_steps  # the steps graph's genstudio.onnx_runtime.Session on the ONNX runtime
        # on the ONNX runtime the sampler's module is the main graph's twin; the torch module says the steps
        self.steps = int((sampler.module if onnx_steps is None else sampler.loaded.module).steps)

    @property
    def title(self) -> str:
        loaded = self.sampler.loaded
        return Path(loaded.folder).name if loaded is not None else self.sampler.spec.id

    def prepared(self, request: StepsRequest) -> StepsRequest:
        """The request checked against this model (label resolved by generate's rules)."""
        from genstudio.generation import check_truncation

        request.check()
        check_truncation(request.truncation)
        if request.truncation != 1.0 and self.sampler.spec.capabilities.truncation == "none":
            raise UserError(f"backend {self.sampler.spec.id!r} does not support truncation")
        return request

    def frames(self, request: StepsRequest, *, progress: Progress | None = None) -> list[Any]:
        """T frames (C x H x W tensors in [0, 1], on the CPU): the canvases of the request's images after steps
        1 .. T, tiled into one grid per step when there are several."""
        import torch

        from genstudio import generation

        sampler, indices = self.sampler, request.indices
        z = generation.latents(request.seed, indices, sampler.latent_dim, request.latents)
        if request.truncation != 1.0:
            z = generation.truncate(sampler.module, z, request.truncation, sampler.spec.capabilities.truncation)
        labels = None
        if sampler.num_classes:
            labels = torch.tensor([generation.label_for(i, request.label, sampler.num_classes) for i in indices],
                                  dtype=torch.long)
        if progress is not None:
            progress.check_abort()
        if self.onnx_steps is not None:
            feeds = {"z": z.numpy()}
            if labels is not None and "labels" in self.onnx_steps.input_names:
                feeds["labels"] = labels.numpy()
            steps = torch.from_numpy(self.onnx_steps.run(feeds)[0])
        else:
            device = sampler.torch_device or "cpu"
            sampler.module.eval()
            with torch.no_grad():
                steps = sampler.module.drawing_steps(z.to(device), labels.to(device) if labels is not None else None)
        steps = steps.float().clamp(0, 1).cpu()  # N x T x C x H x W
        if progress is not None:
            progress.update(advance=len(indices))
        if len(indices) == 1:
            return list(steps[0])
        return [generation.grid(list(steps[:, t]), request.columns) for t in range(steps.shape[1])]

    def record(self, request: StepsRequest) -> dict[str, Any]:
        """The animation's provenance (a frame adds its number as "frame")."""
        parameters = {**request.parameters(), "steps": self.steps}
        if request.label is not None:
            parameters["label_name"] = self.sampler.label_name(request.label)
        return self.sampler.record(request.seed, request.index, request.label, request.truncation, OPERATION,
                                   parameters)


def open_drawer(model_dir: str | Path, *, device: str = "auto", runtime: str = "auto", provider: str = "auto",
                truncation: float = 1.0) -> StepDrawer:
    """Open a model whose backend declares `drawing_steps` on the runtime `genstudio generate` would use; UserError
    (one line) for any other model, or for an ONNX export without its steps graph."""
    from genstudio.generate_folder import open_sampler

    sampler = open_sampler(model_dir, device=device, runtime=runtime, provider=provider, truncation=truncation,
                           lean=False)  # the torch module says how many steps the exported graph draws
    spec = sampler.spec
    if not spec.capabilities.drawing_steps:
        raise UserError(f"backend {spec.id!r} does not draw in steps (it declares no drawing_steps); draw-steps needs "
                        "a backend such as draw")
    if sampler.runtime != "onnx":
        return StepDrawer(sampler)
    return StepDrawer(sampler, _steps_session(sampler.loaded, provider))


def _steps_session(loaded: Any, provider: str) -> Any:
    """The session of the exported steps graph, checked against the sha256 recorded when it was exported."""
    from genstudio.errors import ModelFileError
    from genstudio.fileio import sha256_file
    from genstudio.onnx_runtime import open_session

    graphs = ((loaded.card.extra or {}).get("onnx") or {}).get("graphs") or {}
    entry = graphs.get(STEPS_GRAPH) if isinstance(graphs, dict) else None
    folder = Path(loaded.folder)
    if not isinstance(entry, dict) or not entry.get("file"):
        raise UserError(f"{folder}'s ONNX export has no drawing-steps graph; run `genstudio export {folder}` again, "
                        "or use --runtime torch")
    path = folder / str(entry["file"])
    if not path.is_file() or path.resolve().parent != folder.resolve():
        raise UserError(f"{path} is missing; run `genstudio export {folder}` again, or use --runtime torch")
    if entry.get("sha256") and sha256_file(path) != entry["sha256"]:
        raise ModelFileError(f"{path} does not match the sha256 recorded when it was exported (changed or replaced "
                             f"file); run `genstudio export {folder}` again")
    return open_session(path, provider)


@dataclass
class StepsSummary:
    """What a draw-steps run did; `genstudio draw-steps --json` prints it."""

    model: str
    out: str
    seed: int
    images: int
    steps: int  # frames: the canvas after each drawing step
    format: str  # gif | webp | frames
    written: bool = False  # False: the animation there was already made from the same record
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    runtime: str = "torch"
    device: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)






def write_steps(drawer: StepDrawer, request: StepsRequest, out: str | Path, *, format: str | None = None,
                overwrite: bool = False, progress: EventSink | None = None,
                abort: AbortCheck | None = None) -> StepsSummary:
    """Draw the request's steps and write them to `out` (.gif, .webp, or a folder of PNG frames) with
    `genstudio.animation.save_animation`; an animation already there from the same record is left alone."""
    from genstudio.animation import animation_files, animation_format, save_animation, saved_record
    from genstudio.provenance import without_time

    out = Path(out)
    kind = animation_format(out, format)
    request = drawer.prepared(request)
    sampler = drawer.sampler
    record = drawer.record(request)
    summary = StepsSummary(sampler.model_ref, str(out), request.seed, request.count, drawer.steps, kind,
                           runtime=sampler.runtime, device=sampler.device_text)
    if sampler.fell_back:
        summary.notes.append("onnxruntime could not use the GPU and ran on the CPU")
    started = time.perf_counter()
    if not overwrite and without_time(saved_record(out, kind)) == without_time(record):
        summary.files = [str(path) for path in animation_files(out, kind, drawer.steps)]
        return summary
    reporter = Progress(progress, f"Drawing {request.count} image(s) in {drawer.steps} steps with "
                        f"{sampler.spec.id}", total=request.count, abort=abort)
    frames = drawer.frames(request, progress=reporter)
    files = save_animation(frames, out, format=kind, fps=request.fps, loop=request.loop, hold_last=request.hold,
                           record=record)
    summary.written = True
    summary.files = [str(path) for path in files]
    summary.seconds = round(time.perf_counter() - started, 3)
    reporter.finish(f"{len(frames)} frames")
    return summary


def draw_steps(
    model_dir: str | Path,  # a model folder of a backend that declares drawing_steps
    out: str | Path,  # steps.gif, steps.webp, or a folder (no suffix) of PNG frames
    *,
    seed: int = 0,
    index: int = 0,  # the first image: images index .. index + count - 1 of the seed
    count: int = 1,  # images tiled into each frame
    columns: int | None = None,  # grid columns; None: about square
    label: str | int | None = None,  # class name or number (conditional models); None: cycle, as generate does
    truncation: float = 1.0,
    fps: float = 8.0,
    hold: float = 1.0,  # seconds the finished drawing stays before the animation loops
    loop: bool = True,
    format: str | None = None,  # gif | webp | frames; default from out's suffix
    device: str = "auto",
    runtime: str = "auto",  # auto | torch | onnx, as generate
    provider: str = "auto",
    overwrite: bool = False,  # rewrite even when the animation there was made from the same record
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> StepsSummary:
    """The draw-steps operation: open the model, draw the steps of the images, write the animation."""
    from genstudio.animation import animation_format

    request = StepsRequest(int(seed), int(index), int(count), None if columns is None else int(columns), None,
                           float(truncation), float(fps), float(hold), bool(loop))
    request.check()
    animation_format(out, format)  # a bad suffix or format fails before the model loads
    drawer = open_drawer(model_dir, device=device, runtime=runtime, provider=provider, truncation=truncation)
    from dataclasses import replace

    request = replace(request, label=drawer.sampler.resolve_label(label))
    return write_steps(drawer, request, out, format=format, overwrite=overwrite, progress=progress, abort=abort)


def reproduce_frame(sampler: Any, steps_record: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(image, record) of the frame a frame folder's PNG names, redrawn on `sampler` (genstudio reproduce). The
    record is untrusted: a value of the wrong type raises TypeError/ValueError, which reproduce makes one line."""
    params = steps_record.get("parameters") or {}
    optional_int = lambda key: None if params.get(key) is None else int(params[key])  # noqa: E731
    request = StepsRequest(seed=int(params["seed"]), index=int(params.get("index", 0)),
                           count=int(params.get("count", 1)), columns=optional_int("columns"),
                           label=optional_int("label"), truncation=float(params.get("truncation", 1.0)),
                           fps=float(params.get("fps", 8.0)), hold=float(params.get("hold", 1.0)),
                           loop=bool(params.get("loop", True)), latents=record_rule(params))
    frame = int(steps_record["frame"])
    drawer = StepDrawer(sampler) if sampler.runtime != "onnx" else StepDrawer(
        sampler, _steps_session(sampler.loaded, "cpu" if "CUDA" not in str(steps_record.get("device")) else "cuda"))
    request = drawer.prepared(request)
    if not 0 <= frame < drawer.steps:
        raise UserError(f"the image records frame {frame} of a {drawer.steps}-step drawing")
    return drawer.frames(request)[frame], {**drawer.record(request), "frame": frame}
