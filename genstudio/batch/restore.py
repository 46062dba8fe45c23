"""Restoration through the folder pipeline: `restore_folder` (behind `genstudio restore`, the restore-folder job,
`genstudio reproduce` and the app's inpaint / denoise / upscale actions) and `open_restorer`, which they share.

A restorer (kind `restorer`) declares its inputs: the `input` image, an optional `mask` and a `task` choice. The
core gives two task names a meaning:

  inpaint   needs a mask: one file for every image (`--mask FILE`) or one per image, matched by name
            (`--mask-dir DIR`: `DIR/sub/photo.png` for `sub/photo.jpg`, any image suffix). A mask is read as
            greyscale, white (>= 128) where the picture is to be filled: grey levels from a paint program's soft
            brush are thresholded at half. A mask whose size differs from its image's is resized (nearest
            neighbour) when it has the same proportions (within a pixel, e.g. an image shrunk by --max-size),
            otherwise that image fails with one line naming both sizes; a missing mask costs its image only.
  upscale   the image is first enlarged by the model's `scale` setting with bicubic interpolation (`enlarge`,
            Pillow, the same on every runtime) and the network refines it (pre-upsampling super-resolution:
            SRCNN, Dong et al. 2014; VDSR, Kim et al. 2016): the output is `scale` times the input, tiles too.

Any other task (`denoise`) runs the network on the image as it is; a mask is refused for tasks other than inpaint.
A restorer that needs no training but declares `records_extra` (latent-inpaint: the generator it projects into)
has its `model_extra(settings)` recorded as each output's `extra`, so a changed source is a different output
(reruns redo it; `genstudio reproduce` refuses it).
A restorer whose settings list the tasks a model learnt (`tasks`, comma-separated) is refused the others.
The mask reaches the network as a fourth channel the pipeline appends (`Processor.planes`), so batches, tiles and
resume treat image and mask as one input; each output's provenance records the mask's path and sha256.

Torch-free: an exported restorer runs on onnxruntime, numpy and Pillow; its graph takes `content`, `mask`
(N x 1 x H x W, zeros without one) and the task's index (`genstudio.inputs.choice_feed`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.backends import BackendKind
from genstudio.batch.inputs import Item, collect
from genstudio.batch.pipeline import BatchSummary, Processor, run_batch
from genstudio.batch.stylizer import Stylizer, onnx_batch
from genstudio.batch.tiles import as_array
from genstudio.data import IMAGE_FORMATS
from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink
from genstudio.inputs import InputKind

INPAINT, UPSCALE = "inpaint", "upscale"
MASK_THRESHOLD = 128  # a mask pixel at or above this grey level is a hole


def enlarge(images: np.ndarray, scale: int) -> np.ndarray:
    """N x C x H x W float32 -> N x C x (H * scale) x (W * scale): bicubic per channel in float (Pillow's mode F),
    so the same values on every runtime and in training (the restore plugin degrades its images with it)."""
    from PIL import Image

    if scale == 1:
        return np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    out = np.empty((n, c, h * scale, w * scale), np.float32)
    for i in range(n):
        for j in range(c):
            plane = Image.fromarray(np.ascontiguousarray(images[i, j], dtype=np.float32), mode="F")
            out[i, j] = np.asarray(plane.resize((w * scale, h * scale), Image.Resampling.BICUBIC))
    return out


def read_mask(path: str | os.PathLike[str], size: tuple[int, int]) -> np.ndarray:
    """The mask file at `path` for an image of `size` (height, width): H x W x 1 uint8, 255 in the holes."""
    from PIL import Image

    from genstudio.data import open_image

    height, width = size
    image = open_image(path, "L")
    if (image.height, image.width) != (height, width):
        if abs(image.width * height - image.height * width) > max(image.width, image.height, width, height):
            raise UserError(f"mask {Path(path).name} is {image.width} x {image.height} but the image is {width} x "
                            f"{height}: give a mask of the image's size (one of the same proportions is resized)")
        image = image.resize((width, height), Image.Resampling.NEAREST)
    return np.where(np.asarray(image)[:, :, None] >= MASK_THRESHOLD, 255, 0).astype(np.uint8)


@dataclass(frozen=True)
class Masks:
    """Where each image's mask comes from: one file for all, or a folder matched by name."""

    file: Path | None = None
    folder: Path | None = None

    @staticmethod
    def of(mask: str | os.PathLike[str] | None, mask_dir: str | os.PathLike[str] | None) -> Masks | None:
        if mask not in (None, "") and mask_dir not in (None, ""):
            raise UserError("give --mask FILE (one mask for every image) or --mask-dir DIR (one per image), not both")
        if mask not in (None, ""):
            path = Path(mask).expanduser()
            if not path.is_file():
                raise UserError(f"--mask: {path} does not exist or is not a file")
            return Masks(file=path.resolve())
        if mask_dir not in (None, ""):
            folder = Path(mask_dir).expanduser()
            if not folder.is_dir():
                raise UserError(f"--mask-dir: {folder} is not a folder")
            return Masks(folder=folder.resolve())
        return None

    def for_item(self, item: Item) -> Path:
        """The mask of `item`: the one file, or the folder's file named like the image (any image suffix)."""
        if self.file is not None:
            return self.file
        assert self.folder is not None
        stem = self.folder / item.relative.with_suffix("")
        candidates = [stem.with_name(stem.name + item.relative.suffix)] + \
            [stem.with_name(stem.name + suffix) for suffix in sorted(IMAGE_FORMATS)]
        for path in candidates:
            if path.is_file() and path.resolve().is_relative_to(self.folder):
                return path
        raise UserError(f"no mask for {item.relative} in {self.folder} (a mask is matched by name: "
                        f"{item.relative.with_suffix('.png')})")


@dataclass
class RestoreEngine:
    """The restorer's network over N x (3 [+ 1 mask]) x H x W arrays: the image enlarged first for upscale."""

    network: Any  # (content N x 3 x H x W, mask N x 1 x H x W or None, **extra) -> N x 3 x H x W float32 arrays
    scale: int = 1

    def __call__(self, batch: np.ndarray, **extra: Any) -> np.ndarray:
        content = np.ascontiguousarray(batch[:, :3])
        mask = np.ascontiguousarray(batch[:, 3:4]) if batch.shape[1] > 3 else None
        if self.scale > 1:
            content = enlarge(content, self.scale)
        return np.clip(as_array(self.network(content, mask, **extra)), 0, 1)


def _check_request(spec: Any, task: str | None, masks: Masks | None) -> None:
    if masks is not None and spec.input(InputKind.MASK) is None:
        raise UserError(f"backend {spec.id!r} takes no mask")
    if task == INPAINT and masks is None:
        raise UserError("--task inpaint needs --mask FILE (one mask for every image) or --mask-dir DIR (one per "
                        "image, matched by name)")
    if task != INPAINT and masks is not None:
        raise UserError(f"--mask and --mask-dir apply to --task inpaint, not {task}")


def usable_tasks(spec: Any, settings: dict[str, Any]) -> tuple[str, ...]:
    """The tasks a restorer can be asked for: its declared `task` choices, less those its settings' `tasks` list
    (what a model learnt) leaves out; () when it declares no task."""
    entry = next((item for item in spec.inputs if item.kind == InputKind.CHOICE and item.name == "task"), None)
    if entry is None:
        return ()
    learnt = [name.strip() for name in str(settings.get("tasks") or "").split(",") if name.strip()]
    return tuple(name for name in entry.choices if not learnt or name in learnt)


def open_restorer(
    model_or_backend: str | os.PathLike[str],
    *,
    task: str | None = None,  # one of the declared task choices (name or index); None: the first it learnt
    masks: Masks | None = None,  # where the masks come from (inpaint)
    assignments: list[str] = (),  # --set key=value for a backend id
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping (reproduce, the app)
    device: str = "auto",
    runtime: str = "auto",  # auto | torch | onnx
    provider: str = "auto",
) -> Stylizer:
    """Load and check a restorer for one task; UserError for what the user can fix."""
    from genstudio.inputs import resolve_inputs
    from genstudio.models import resolve_target
    from genstudio.onnx_runtime import check_runtime_request, choose_runtime

    target = resolve_target(model_or_backend, (BackendKind.RESTORER,), "a restorer", config=config,
                            assignments=assignments)
    spec = target.spec
    task_spec = next((entry for entry in spec.inputs if entry.kind == InputKind.CHOICE and entry.name == "task"),
                     None)
    if task not in (None, "") and task_spec is None:
        raise UserError(f"backend {spec.id!r} takes no --task")
    usable = usable_tasks(spec, target.settings)
    if task in (None, "") and usable:
        task = usable[0]  # the first task the model learnt
    inputs = resolve_inputs(spec.id, spec.inputs, {"task": task}, provided_elsewhere=("input", "mask"))
    inputs.pop("input", None)
    params = {entry.name: inputs.pop(entry.name) for entry in spec.inputs if entry.kind == InputKind.CHOICE}
    chosen = params.get("task")
    if chosen is not None and chosen not in usable:
        raise UserError(f"{target.what} did not learn --task {chosen} (it learnt {', '.join(usable)})")
    _check_request(spec, chosen, masks)
    scale = int(target.settings.get("scale", 2)) if chosen == UPSCALE else 1
    runtime_used, onnx_path = ("torch", None) if target.folder is None else choose_runtime(runtime, target.folder,
                                                                                           target.card)
    check_runtime_request(runtime_used, runtime, provider, target.what)
    if runtime_used == "torch":
        from genstudio.batch.torch_restore import open_torch_network

        network, module, loaded, device_text = open_torch_network(target, params, device)
        return Stylizer(spec, target, params, inputs, "torch", device_text, RestoreEngine(network, scale),
                        model_sha256=loaded.card.weights_sha256 if loaded else None, module=module, loaded=loaded)
    from genstudio.inputs import choice_feed
    from genstudio.onnx_runtime import open_session

    session = open_session(onnx_path, provider)
    feeds = {entry.graph_input: choice_feed(entry, params[entry.name]) for entry in spec.inputs
             if entry.kind == InputKind.CHOICE and entry.graph_input in session.input_names}
    image_input = spec.input(InputKind.IMAGE).graph_input
    mask_spec = spec.input(InputKind.MASK)

    def network(content: np.ndarray, mask: np.ndarray | None, **_extra: Any) -> np.ndarray:
        given = dict(feeds)
        if mask_spec is not None and mask_spec.graph_input in session.input_names:
            given[mask_spec.graph_input] = mask if mask is not None else np.zeros_like(content[:, :1])
        return session.run({image_input: content, **given})[0]

    return Stylizer(spec, target, params, inputs, "onnx", session.describe(), RestoreEngine(network, scale),
                    max_batch=onnx_batch(session.provider), model_sha256=target.card.weights_sha256,
                    session=session)


def backend_extra(restorer: Stylizer) -> dict[str, Any]:
    """What a restorer that needs no training says decides its pixels besides its settings (capability
    `records_extra`, e.g. another model folder's weights by sha256); {} for a model folder, whose model.json and
    weights' sha256 already say it."""
    if restorer.target.folder is not None or not restorer.spec.capabilities.records_extra:
        return {}
    return dict(restorer.spec.load().model_extra(restorer.settings))


def restore_folder(
    model_or_backend: str,
    inputs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    task: str | None = None,  # inpaint | denoise | upscale (the backend's declared task choices); None: the first
    mask: str | os.PathLike[str] | None = None,  # one mask for every image (inpaint)
    mask_dir: str | os.PathLike[str] | None = None,  # a mask per image, matched by name (inpaint)
    assignments: list[str] = (),  # --set key=value for a backend id
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping (reproduce), under assignments
    device: str = "auto",
    runtime: str = "auto",  # auto | torch | onnx
    provider: str = "auto",
    recursive: bool = False,
    pattern: str | None = None,
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
    **batch_options: Any,  # fmt, quality, overwrite, max_size, tile, overlap, workers, report_file
) -> BatchSummary:
    """Restore files and folders into `out` (the input tree mirrored); bad inputs and missing masks are listed,
    a rerun skips what is done."""
    from genstudio.fileio import sha256_file

    masks = Masks.of(mask, mask_dir)
    restorer = open_restorer(model_or_backend, task=task, masks=masks, assignments=assignments, config=config,
                             device=device, runtime=runtime, provider=provider)
    if batch_options.get("tile") and not restorer.spec.capabilities.tile_safe:
        raise UserError(f"backend {restorer.spec.id!r} is not tile-safe: drop --tile, or use --max-size")
    items, passed_over = collect(list(inputs), out, recursive=recursive, pattern=pattern)
    if masks is not None:  # a mask inside an input folder is not an image to restore
        skip = {masks.file} if masks.file is not None else set()
        items = [item for item in items if item.source.resolve() not in skip
                 and (masks.folder is None or not item.source.resolve().is_relative_to(masks.folder))]
    if not items and not passed_over:
        raise UserError("no input images found")
    mask_spec = restorer.spec.input(InputKind.MASK)
    digests: dict[Path, str] = {}
    extra = backend_extra(restorer)

    def record(item: Item, digest: str) -> dict[str, Any]:
        made = restorer.record(digest)
        if extra:
            made["extra"] = extra
        if masks is not None and mask_spec is not None:
            try:
                path = masks.for_item(item)
            except UserError:  # recorded as missing; `planes` fails the item with the reason
                return {**made, mask_spec.name: None, f"{mask_spec.name}_sha256": None}
            if path not in digests:  # one mask for a whole folder is hashed once
                digests[path] = sha256_file(path)
            made.update({mask_spec.name: str(path.resolve()), f"{mask_spec.name}_sha256": digests[path]})
        return made

    def planes(item: Item, size: tuple[int, int]) -> np.ndarray:
        assert masks is not None
        return read_mask(masks.for_item(item), size)

    def run(batch: np.ndarray) -> np.ndarray:
        return restorer.run(batch, progress=progress, abort=abort)

    scale = restorer.engine.scale if isinstance(restorer.engine, RestoreEngine) else 1
    processor = Processor(f"Restoring ({restorer.params.get('task', 'restore')}) with {restorer.spec.id}", run,
                          record, max_batch=restorer.max_batch, tileable=restorer.spec.capabilities.tile_safe,
                          owner=restorer.owner, planes=planes if masks is not None else None, scale=scale)
    return run_batch(items, processor, out, passed_over=passed_over, progress=progress, abort=abort, **batch_options)


MASKS_FOLDER = "restore-masks"  # under the app's data folder: painted masks, kept so `genstudio reproduce` finds them
SCRATCH_FOLDER = "restore"  # under the cache folder: where the pipeline writes before the result is read back


def save_mask(mask: np.ndarray) -> Path:
    """A painted mask (H x W, non-zero where the picture is to be filled) as a black-and-white PNG in the data
    folder, named by content (the same mask is one file however often it is used)."""
    import hashlib
    import io

    from PIL import Image

    from genstudio import paths
    from genstudio.fileio import atomic_write_bytes

    pixels = np.where(np.asarray(mask) >= MASK_THRESHOLD, 255, 0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, "PNG")
    data = buffer.getvalue()
    path = paths.data_dir() / MASKS_FOLDER / f"mask-{hashlib.sha256(data).hexdigest()[:16]}.png"
    if not path.is_file() or path.read_bytes() != data:
        atomic_write_bytes(path, data)
    return path


def restore_image(
    model_or_backend: str,
    image: str | os.PathLike[str],  # the image file (the app saves canvas pixels first)
    *,
    task: str | None = None,
    mask: np.ndarray | str | os.PathLike[str] | None = None,  # H x W painted mask (saved by save_mask), or a file
    config: dict[str, Any] | None = None,  # a backend id's settings (latent-inpaint's source, ...)
    device: str = "auto",
    max_size: int | None = None,
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One restored image and its provenance, as the app shows it: `genstudio restore MODEL IMAGE --task T
    [--mask M] --out SCRATCH` into a scratch folder under the cache, read back and removed. UserError (one line)
    for what the user can fix; Cancelled when `abort` stopped it."""
    import tempfile

    from PIL import Image

    from genstudio import paths
    from genstudio.errors import Cancelled
    from genstudio.provenance import read_provenance

    if isinstance(mask, np.ndarray) and not (np.asarray(mask) >= MASK_THRESHOLD).any():
        raise UserError("the mask is empty: paint over what is to be filled first")
    mask_path = save_mask(mask) if isinstance(mask, np.ndarray) else mask
    scratch_root = paths.cache_dir() / SCRATCH_FOLDER
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=scratch_root) as scratch:
        summary = restore_folder(model_or_backend, [image], scratch, task=task, mask=mask_path, config=config,
                                 device=device, max_size=max_size, fmt="png", overwrite=True, workers=1,
                                 progress=progress, abort=abort)
        if summary.cancelled:
            raise Cancelled("restore")
        if summary.failed or summary.passed_over or summary.written != 1:
            problems = summary.failed or summary.passed_over
            raise UserError(problems[0]["reason"] if problems else f"{Path(image).name}: nothing was written")
        (made,) = Path(scratch).rglob("*.png")
        record = read_provenance(made)
        with Image.open(made) as opened:
            pixels = np.asarray(opened.convert("RGB")).copy()
    if record is None:
        raise UserError(f"restoring {Path(image).name} wrote no provenance")
    return pixels, record
