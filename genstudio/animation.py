"""Write a sequence of images as an animated GIF, an animated WebP or a folder of numbered PNG frames.

One writer for every sequence the product makes: DRAW's drawing steps, a latent walk between seeds, an
interpolation path, a selection in the app's gallery. Frames are C x H x W float arrays or tensors in [0, 1],
H x W x C uint8 arrays, or PIL images; all must have the same size. Files are written atomically (a killed
process leaves no half-written animation) and a frame folder is never a planted symbolic link (`real_folder`).
Nothing here imports torch.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from genstudio.errors import UserError
from genstudio.fileio import atomic_write_bytes, json_text, real_folder
from genstudio.provenance import png_bytes, to_pil

FORMATS = ("gif", "webp", "frames")  # what `save_animation` writes; "frames" is a folder of frame-00000.png ...
MAX_FRAMES = 2000
MANIFEST = "animation.json"  # a frame folder's: fps, frame count, loop and the record


def frame_name(index: int) -> str:
    return f"frame-{index:05d}.png"


def animation_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The format to write: the one asked for, else from the suffix (.gif, .webp; no suffix: a frame folder)."""
    if format:
        if format not in FORMATS:
            raise UserError(f"unknown animation format {format!r}; use one of {', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("gif", "webp"):
        return suffix
    if suffix:
        raise UserError(f"{Path(path).name}: an animation is a .gif, a .webp or a folder of frames, not .{suffix}")
    return "frames"


def _frames(frames: Sequence[Any]) -> list[Image.Image]:
    images = [frame if isinstance(frame, Image.Image) else to_pil(frame) for frame in frames]
    if not images:
        raise UserError("an animation needs at least one frame")
    if len(images) > MAX_FRAMES:
        raise UserError(f"an animation holds at most {MAX_FRAMES} frames, got {len(images)}")
    sizes = {image.size for image in images}
    if len(sizes) > 1:
        raise UserError(f"the frames of an animation must all have one size, got {sorted(sizes)}")
    return images


def animation_bytes(frames: Sequence[Any], format: str, *, fps: float = 8.0, loop: bool = True,
                    hold_last: float = 0.0) -> bytes:
    """The encoded animation ("gif" or "webp"). `hold_last` seconds are added to the last frame's display."""
    images = _frames(frames)
    if fps <= 0:
        raise UserError(f"frames per second must be positive, got {fps:g}")
    frame_ms = max(int(round(1000 / fps)), 20)  # browsers clamp shorter GIF delays to 100 ms
    durations = [frame_ms] * len(images)
    durations[-1] += int(round(hold_last * 1000))
    buffer = io.BytesIO()
    options: dict[str, Any] = {"save_all": True, "append_images": images[1:], "duration": durations,
                               "loop": 0 if loop else 1}
    if format == "gif":
        mode = "L" if all(image.mode == "L" for image in images) else "RGB"
        images = [image.convert(mode) for image in images]
        options["append_images"] = images[1:]
        options["disposal"] = 1
        images[0].save(buffer, format="GIF", optimize=False, **options)
    elif format == "webp":
        images = [image.convert("RGB") for image in images]
        options["append_images"] = images[1:]
        images[0].save(buffer, format="WEBP", lossless=True, **options)
    else:
        raise UserError(f"unknown animation format {format!r}; use gif or webp")
    return buffer.getvalue()


def save_animation(frames: Sequence[Any], path: str | os.PathLike[str], *, format: str | None = None,
                   fps: float = 8.0, loop: bool = True, hold_last: float = 0.0,
                   record: dict[str, Any] | None = None) -> list[Path]:
    """Write `frames` to `path` as a GIF, a WebP or a folder of PNG frames; return the files written.

    A frame folder holds `frame-00000.png` ... (each with `record`'s provenance and its frame index, when given)
    and `animation.json` (fps, count); an animated file carries no provenance of its own, so `record`, when
    given, is written beside it as `<name>.json`."""
    path = Path(path)
    kind = animation_format(path, format)
    if kind == "frames":
        images = _frames(frames)
        folder = real_folder(path.parent, path.name)
        written = []
        for index, image in enumerate(images):
            target = folder / frame_name(index)
            frame_record = {**record, "frame": index} if record is not None else {}
            atomic_write_bytes(target, png_bytes(image, frame_record))
            written.append(target)
        manifest = folder / MANIFEST
        atomic_write_bytes(manifest, json_text({"fps": fps, "frames": len(images), "loop": loop,
                                                "record": record}).encode())
        return [*written, manifest]
    data = animation_bytes(frames, kind, fps=fps, loop=loop, hold_last=hold_last)
    target = real_folder(path.parent) / path.name
    atomic_write_bytes(target, data)
    written = [target]
    if record is not None:
        sidecar = target.with_name(target.name + ".json")
        atomic_write_bytes(sidecar, json_text(record).encode())
        written.append(sidecar)
    return written


def animation_files(path: str | os.PathLike[str], format: str, frames: int) -> list[Path]:
    """The files `save_animation` writes for `frames` frames in `format` (the record's sidecar included)."""
    path = Path(path)
    if format == "frames":
        return [*(path / frame_name(index) for index in range(frames)), path / MANIFEST]
    return [path, path.with_name(path.name + ".json")]


def saved_record(path: str | os.PathLike[str], format: str) -> dict[str, Any] | None:
    """The record of a complete animation `save_animation` wrote at `path` (its sidecar, or a frame folder's
    manifest with every frame present), or None: missing, partial, linked or unreadable. What callers compare
    with their new record to leave an up-to-date animation alone."""
    path = Path(path)
    manifest = path / MANIFEST if format == "frames" else path.with_name(path.name + ".json")
    if not manifest.is_file() or manifest.is_symlink():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if format == "frames":
        if not isinstance(data, dict) or not isinstance(data.get("frames"), int):
            return None
        if not all((path / frame_name(index)).is_file() for index in range(data["frames"])):
            return None
        data = data.get("record")
    elif not path.is_file():
        return None
    return data if isinstance(data, dict) else None
