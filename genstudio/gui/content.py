"""Qt-free: what the canvas shows. A list of images (pixels or files, each with its provenance), a selection and
a layout mode; views subscribe with `subscribe(callback)` and re-read on each event.

Events (strings): "reset" (the whole list changed), "added" (images appended), "selection", "mode".
`state()` / `restore(state)` take and put back a snapshot, for undo (genstudio.gui.canvas.CanvasEdits).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from genstudio.errors import UserError
from genstudio.inputs import INCIDENTAL_KEYS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
Mode = Literal["grid", "single", "split"]
MAX_DROPPED = 500  # images taken from one dropped folder


@dataclass
class CanvasImage:
    """One image on the canvas: pixels (H x W x C uint8) and/or the file it came from, plus its provenance."""

    title: str
    pixels: np.ndarray | None = None
    path: Path | None = None
    record: dict[str, Any] | None = None  # the genstudio provenance record, when known
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> CanvasImage:
        """The file and its provenance: a PNG's own, or a JPEG/WebP's `.json` sidecar."""
        from genstudio.batch.writer import provenance_of

        path = Path(path)
        return cls(path.name, None, path, provenance_of(path)[0])

    @property
    def history_id(self) -> str | None:
        """The history entry this image was recorded as (genstudio.history), when it was."""
        value = self.meta.get("history")
        return value if isinstance(value, str) else None

    def describe(self) -> str:
        """Provenance as readable text (or where the image came from, when it carries none)."""
        import json

        lines = [self.title]
        if self.path is not None:
            lines.append(str(self.path))
        if self.record:
            lines.append(json.dumps(self.record, indent=2, sort_keys=True, default=str))
        else:
            lines.append("No genstudio provenance in this image.")
        return "\n".join(lines)


@dataclass(frozen=True)
class CanvasState:
    """A snapshot of what the canvas shows (for undo)."""

    images: tuple[CanvasImage, ...]
    selected: int | None
    mode: str
    split_pair: tuple[int, int] | None


class CanvasContent:
    """The canvas's images, selection (index or None) and mode."""

    def __init__(self) -> None:
        self.images: list[CanvasImage] = []
        self.selected: int | None = None
        self.mode: Mode = "grid"
        self.split_pair: tuple[int, int] | None = None  # (before, after) indices in split mode
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._listeners.append(callback)

    def _emit(self, event: str) -> None:
        for callback in list(self._listeners):
            callback(event)

    def set_images(self, images: Iterable[CanvasImage]) -> None:
        self.images = list(images)
        self.selected = None
        self.split_pair = None
        if self.mode == "split":
            self.mode = "grid"
        self._emit("reset")

    def add(self, images: Iterable[CanvasImage]) -> None:
        images = list(images)
        if images:
            self.images.extend(images)
            self._emit("added")

    def clear(self) -> None:
        self.set_images([])

    def remove(self, indices: Iterable[int]) -> int:
        """Take the images at `indices` off the canvas (split view ends); returns how many."""
        gone = {index for index in indices if 0 <= index < len(self.images)}
        if gone:
            self.set_images(image for index, image in enumerate(self.images) if index not in gone)
        return len(gone)

    def state(self) -> CanvasState:
        return CanvasState(tuple(self.images), self.selected, self.mode, self.split_pair)

    def restore(self, state: CanvasState) -> None:
        self.images = list(state.images)
        self.selected = state.selected if state.selected is None or state.selected < len(self.images) else None
        self.split_pair = state.split_pair
        self.mode = state.mode if state.mode != "split" or state.split_pair else "grid"  # type: ignore[assignment]
        self._emit("reset")

    def select(self, index: int | None) -> None:
        if index is not None and not 0 <= index < len(self.images):
            index = None
        if index != self.selected:
            self.selected = index
            self._emit("selection")

    @property
    def current(self) -> CanvasImage | None:
        return self.images[self.selected] if self.selected is not None else None

    def set_mode(self, mode: Mode) -> None:
        if mode == "single" and not self.images:
            mode = "grid"
        if mode == "single" and self.selected is None:
            self.selected = 0
        if mode != self.mode:
            self.mode = mode
            self._emit("mode")

    def compare(self, before: int, after: int) -> None:
        """Split view: `before` left of the divider, `after` right of it."""
        for index in (before, after):
            if not 0 <= index < len(self.images):
                raise UserError("pick two images on the canvas to compare")
        self.split_pair = (before, after)
        self.mode = "split"
        self._emit("mode")


PROVENANCE_LABELS = {  # record keys people read first, with their names; the rest follow as they are
    "operation": "Operation", "backend": "Backend", "model": "Model", "parameters": "", "config": "Setting",
    "input": "Input file", "style": "Style image", "runtime": "Runtime", "device": "Device",
    "plugin": "Plugin", "plugin_version": "Plugin version", "model_sha256": "Weights sha256",
    "genstudio": "genstudio", "time": "Made",
}
MAX_CELL = 500  # characters of one value shown in a cell (the whole value is in the tooltip)


def provenance_rows(record: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A provenance record as (field, value) rows a person can read: the operation, backend and model first, each
    parameter on its own row ("Seed", "Truncation"), settings as "Setting · ngf", nested values flattened with
    dots. The record is untrusted: everything becomes plain text."""
    if not isinstance(record, dict):
        return []
    rows: list[tuple[str, str]] = []
    order = [key for key in PROVENANCE_LABELS if key in record] + sorted(
        str(key) for key in record if key not in PROVENANCE_LABELS)
    for key in order:
        value = record.get(key)
        label = PROVENANCE_LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "parameters" and isinstance(value, dict):
            for name, item in value.items():
                title = (PROVENANCE_LABELS.get(str(name)) if name not in INCIDENTAL_KEYS else None) \
                    or str(name).replace("_", " ").capitalize()  # a parameter is a value: `style` is a choice
                rows += ([(f"{title} · {inner}", text) for inner, text in _flatten(item)] if isinstance(item, dict)
                         and item else [(title, _cell(item))])
        elif isinstance(value, dict):
            rows += [(f"{label} · {name}", text) for name, text in _flatten(value)]
        elif key == "model" and isinstance(value, str) and "/" in value:
            rows.append((label, f"{Path(value).name}  ({value})"))
        else:
            rows.append((label, _cell(value)))
    return rows


def _flatten(mapping: dict[Any, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name, value in mapping.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            rows += _flatten(value, key + ".")
        else:
            rows.append((key, _cell(value)))
    return rows


def _cell(value: Any) -> str:
    import json

    text = "—" if value is None else (value if isinstance(value, str) else json.dumps(value, default=str))
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def images_in(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Image files among dropped paths: files as they are, folders searched (sorted, up to MAX_DROPPED)."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [Path(root) / name for name in sorted(files) if name.lower().endswith(IMAGE_SUFFIXES)]
                if len(found) >= MAX_DROPPED:
                    break
        elif path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found.append(path)
    return found[:MAX_DROPPED]


SAVE_QUALITY = 92  # JPEG / WebP quality: `genstudio reproduce`'s default, so a remade file encodes alike


def save_image(image: CanvasImage, target: str | Path) -> Path:
    """Save through the pipeline's writer (`genstudio.batch.writer.write_result`), atomically: PNG with its
    provenance inside, JPEG and WebP with it in a `<name>.<ext>.json` sidecar, so `genstudio reproduce` can remake
    any saved image. Other suffixes (BMP included, which has no place for a record) become .png. An image without
    provenance is saved as plain pixels."""
    from genstudio.batch.writer import FORMATS, encode, write_result
    from genstudio.fileio import atomic_write_bytes

    target = Path(target)
    if target.suffix.lower() not in FORMATS:
        target = target.with_suffix(".png")
    fmt = FORMATS[target.suffix.lower()]
    pixels = image.pixels if image.pixels is not None else _file_pixels(image.path)
    if pixels is None:
        raise UserError("this image has no pixels to save")
    if image.record:
        record = dict(image.record)
        if isinstance(record.get("batch"), dict):  # a pipeline's record says how its file was encoded
            record["batch"] = {**record["batch"], "format": fmt, "quality": SAVE_QUALITY if fmt != "png" else None}
        write_result(target, pixels, record, fmt, SAVE_QUALITY)
    else:
        atomic_write_bytes(target, _plain_png(pixels) if fmt == "png" else encode(pixels, fmt, SAVE_QUALITY))
    return target


def _file_pixels(path: Path | None) -> np.ndarray | None:
    """A file's pixels as H x W x C uint8, grey kept grey (a remade grey image compares like for like)."""
    from PIL import Image

    if path is None:
        return None
    with Image.open(path) as opened:
        mode = opened.mode if opened.mode in ("L", "RGB", "RGBA") else (
            "RGBA" if opened.mode in ("LA", "P", "PA") else "RGB")
        return np.asarray(opened.convert(mode))


def _plain_png(pixels: np.ndarray) -> bytes:
    import io

    from genstudio.provenance import PNG_COMPRESS_LEVEL, to_pil

    buffer = io.BytesIO()
    to_pil(pixels).save(buffer, "PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
