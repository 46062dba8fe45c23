"""Qt-free: every result the app makes, kept across restarts.

A history entry names one image file (a PNG carrying its provenance, or a JPEG/WebP with its `.json` sidecar), a
small thumbnail, the operation that made it (generate, stylize, translate, restore, interpolate, reconstruct...),
the backend and model, a title, the queued job it came from (if any) and when it was recorded. Images the app
makes in memory (Generate, Stylize, the latent strip) are written as PNG files with their provenance under the
history folder first, so a result is a file, not only pixels in a window; folder jobs' results are referenced
where the job wrote them (the user's output folder).

Storage: `<data dir>/history/history.jsonl`, one JSON object a line, only ever appended to (through
`fileio.open_append`, which refuses a planted link); removals are appended as `{"removed": [ids]}`. A line that
cannot be read (a torn write, a hand edit) is passed over with one notice and left in the file as it is, so
nothing is lost; an entry whose file has gone stays listed as missing. Several windows may append to the same file.

The provenance stored here is untrusted input (anyone can write a PNG chunk): `reuse_settings` turns a record into
settings for the parameters panel only through the backend's own schema and the generation options' ranges.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genstudio import paths
from genstudio.errors import UserError

FOLDER = "history"  # under paths.data_dir()
LOG = "history.jsonl"
IMAGES = "images"  # in-memory results written as PNG files here, one folder a month
THUMBS = "thumbs"
THUMB_SIDE = 128  # thumbnails fit in a square this many pixels wide
MAX_TEXT = 300  # longest title / backend / model text kept from an untrusted record
MAX_SEED = 2**31 - 1  # the parameters panel's seed range


def operation_of(record: dict[str, Any] | None) -> str:
    """The operation a provenance record names ("generate" when it has a seed and names none; "" without one)."""
    if not isinstance(record, dict):
        return ""
    operation = record.get("operation")
    if isinstance(operation, str) and operation:
        return operation[:MAX_TEXT]
    parameters = record.get("parameters")
    return "generate" if isinstance(parameters, dict) and "seed" in parameters else ""


def model_of(record: dict[str, Any] | None) -> str:
    """What made the image: the model folder's path, or the backend id for backends without weights."""
    if not isinstance(record, dict):
        return ""
    for key in ("model", "backend"):
        value = record.get(key)
        if isinstance(value, str) and value:
            return value[:1000]
    return ""


def model_title(model: str) -> str:
    """A model as people call it: a folder's name, or the backend id."""
    return Path(model).name if ("/" in model or os.sep in model) else model


@dataclass(frozen=True)
class Entry:
    """One recorded result."""

    id: str
    path: Path  # the image file
    operation: str  # "generate", "stylize", "translate", "restore", "interpolate", "opened", ...
    backend: str
    model: str  # model folder path or backend id (see `model_of`)
    title: str
    time: str  # ISO 8601 UTC, when it was recorded
    job: int | None = None  # the queued job that made it
    record: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def model_name(self) -> str:
        return model_title(self.model)

    @property
    def missing(self) -> bool:
        return not self.path.is_file()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "operation": self.operation, "backend": self.backend,
                "model": self.model, "title": self.title, "time": self.time, "job": self.job, "record": self.record}

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """An entry from one line of the log; ValueError when the line is not one."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        texts = {key: data.get(key, "") for key in ("id", "path", "operation", "backend", "model", "title", "time")}
        if not all(isinstance(value, str) for value in texts.values()) or not texts["id"] or not texts["path"]:
            raise ValueError("missing or mistyped fields")
        job = data.get("job")
        record = data.get("record")
        return cls(texts["id"], Path(texts["path"]), texts["operation"], texts["backend"], texts["model"],
                   texts["title"], texts["time"], job if isinstance(job, int) and not isinstance(job, bool) else None,
                   record if isinstance(record, dict) else None)


class History:
    """The recorded results, oldest first; `subscribe(callback)` for "added" / "removed" / "reset" events."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else paths.data_dir() / FOLDER
        self.entries: list[Entry] = []
        self.notice: str | None = None  # one line when damaged lines were passed over
        self._listeners: list[Callable[[str], None]] = []
        self._log_lock = threading.Lock()  # the app appends from its writer thread and its own
        self.load()

    @property
    def log(self) -> Path:
        return self.root / LOG

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._listeners.append(callback)

    def _emit(self, event: str) -> None:
        for callback in list(self._listeners):
            callback(event)

    # ------------------------------------------------------------------ reading

    def load(self) -> None:
        """(Re)read the log: entries in order, removals applied, damaged lines counted in `notice`."""
        entries: dict[str, Entry] = {}
        damaged = 0
        lines: list[str] = []
        if self.log.is_file() and not self.log.is_symlink():
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in lines:
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if isinstance(data, dict) and "removed" in data:
                    for key in data["removed"]:
                        entries.pop(str(key), None)
                    continue
                entry = Entry.from_json(data)
            except (ValueError, TypeError):
                damaged += 1
                continue
            entries[entry.id] = entry
        self.entries = list(entries.values())
        self.notice = (f"history: {damaged} damaged line(s) in {self.log} were passed over (the file is kept as "
                       "it is)") if damaged else None
        self._emit("reset")

    def get(self, entry_id: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.id == entry_id), None)

    def filter(self, model: str | None = None, operation: str | None = None) -> list[Entry]:
        """Entries made by `model` (a model path or backend id) and/or by `operation`; None: any."""
        return [entry for entry in self.entries
                if (model is None or entry.model == model) and (operation is None or entry.operation == operation)]

    def models(self) -> list[str]:
        return sorted({entry.model for entry in self.entries if entry.model}, key=model_title)

    def operations(self) -> list[str]:
        return sorted({entry.operation for entry in self.entries if entry.operation})

    # ------------------------------------------------------------------ recording

    def add_image(self, pixels: np.ndarray, record: dict[str, Any] | None, title: str = "",
                  operation: str | None = None, job: int | None = None) -> Entry:
        """Record pixels made in memory: written first as a PNG with `record` (its provenance) in the history's
        images folder, then listed. (The app splits this: `new_image_entry` on its thread, `write_image` and
        `log_entries` on a writer thread, `adopt` back on its thread.)"""
        entry = self.new_image_entry(record, title, operation, job)
        self.write_image(entry, pixels)
        self.log_entries([entry])
        self.adopt([entry])
        return entry

    def new_image_entry(self, record: dict[str, Any] | None, title: str = "", operation: str | None = None,
                        job: int | None = None) -> Entry:
        """The entry pixels will be recorded as (its id and file are known at once); nothing written yet."""
        from genstudio.provenance import now_iso

        operation = operation or operation_of(record) or "image"
        entry_id = uuid.uuid4().hex[:16]
        path = self.root / IMAGES / now_iso()[:7] / f"{_safe(operation)}-{entry_id}.png"
        return self._entry(path, record, title, operation, job, entry_id)

    def write_image(self, entry: Entry, pixels: np.ndarray) -> None:
        """Write an entry's PNG (with its provenance) and thumbnail; safe on another thread (touches only its own
        files)."""
        from genstudio.fileio import atomic_write_bytes, real_folder
        from genstudio.provenance import png_bytes

        real_folder(self.root, entry.path.parent.relative_to(self.root))
        atomic_write_bytes(entry.path, png_bytes(pixels, entry.record or {}))
        self.thumbnail(entry)

    def add_file(self, path: str | os.PathLike[str], title: str = "", operation: str | None = None,
                 job: int | None = None) -> Entry:
        """Record an existing image file where it is (a folder job's output); its provenance is read from it."""
        return self.add_files([path], operation=operation, job=job, titles=[title] if title else None)[0]

    def add_files(self, files: Iterable[str | os.PathLike[str]], operation: str | None = None,
                  job: int | None = None, titles: list[str] | None = None) -> list[Entry]:
        """Record existing files (absolute paths kept); files already recorded for the same job are not added
        twice."""
        entries = self.file_entries(files, operation, job, titles)
        self.log_entries(entries)
        self.adopt(entries)
        return entries

    def file_entries(self, files: Iterable[str | os.PathLike[str]], operation: str | None = None,
                     job: int | None = None, titles: list[str] | None = None) -> list[Entry]:
        """Entries for existing files, with their thumbnails made; not yet logged or listed (see `add_files`).
        Reads files only: safe on a writer thread."""
        from genstudio.batch.writer import provenance_of

        seen = {(entry.path, entry.job) for entry in list(self.entries)}
        made = []
        for index, item in enumerate(files):
            path = Path(item).expanduser().resolve()
            if (path, job) in seen or not path.is_file():
                continue
            seen.add((path, job))
            record = provenance_of(path)[0]
            title = titles[index] if titles and index < len(titles) else path.name
            entry = self._entry(path, record, title, operation or operation_of(record) or "opened", job)
            self.thumbnail(entry)
            made.append(entry)
        return made

    def log_entries(self, entries: list[Entry]) -> None:
        """Append entries to the log (one write, fsynced)."""
        if entries:
            self._write_lines([entry.to_json() for entry in entries])

    def adopt(self, entries: list[Entry]) -> None:
        """List logged entries and tell the views (on the thread that owns the views)."""
        known = {entry.id for entry in self.entries}
        entries = [entry for entry in entries if entry.id not in known]
        if entries:
            self.entries.extend(entries)
            self._emit("added")

    def remove(self, ids: Iterable[str]) -> int:
        """Forget entries; returns how many were listed. The files the history wrote itself (in-app results under
        its images folder) and the thumbnails go too; files anywhere else (a job's output folder) stay."""
        ids = [entry_id for entry_id in ids if self.get(entry_id) is not None]
        if not ids:
            return 0
        self._write_lines([{"removed": ids}])
        gone = [entry for entry in self.entries if entry.id in ids]
        self.entries = [entry for entry in self.entries if entry.id not in ids]
        for entry in gone:
            for path in (entry.path if self.owns(entry) else None, self.root / THUMBS / f"{_safe(entry.id)}.png"):
                if path is not None and path.is_file() and not path.is_symlink():
                    path.unlink()
        self._emit("removed")
        return len(ids)

    def owns(self, entry: Entry) -> bool:
        """True for an in-app result's file, which the history wrote under its images folder."""
        images = (self.root / IMAGES).resolve()
        return not entry.path.is_symlink() and entry.path.resolve().is_relative_to(images)

    def _entry(self, path: Path, record: dict[str, Any] | None, title: str, operation: str,
               job: int | None, entry_id: str | None = None) -> Entry:
        from genstudio.provenance import now_iso

        backend = record.get("backend") if isinstance(record, dict) else None
        return Entry(entry_id or uuid.uuid4().hex[:16], path, operation[:MAX_TEXT],
                     backend[:MAX_TEXT] if isinstance(backend, str) else "", model_of(record),
                     str(title or path.name)[:MAX_TEXT], now_iso(), job, record)

    def _write_lines(self, objects: list[dict[str, Any]]) -> None:
        from genstudio.fileio import json_text, open_append, real_folder

        real_folder(self.root)
        text = "".join(json_text(obj, sort_keys=True) + "\n" for obj in objects)
        with self._log_lock, open_append(self.log) as handle:
            if handle.tell() > 0 and not _ends_with_newline(self.log):
                text = "\n" + text  # a torn last line stays one damaged line, not two glued together
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    # ------------------------------------------------------------------ thumbnails

    def thumbnail(self, entry: Entry) -> Path | None:
        """The entry's thumbnail (a PNG at most THUMB_SIDE px wide), made now if missing or unreadable; None when
        the image itself cannot be read."""
        from PIL import Image

        from genstudio.data import open_image
        from genstudio.fileio import atomic_write_bytes, real_folder

        target = self.root / THUMBS / f"{_safe(entry.id)}.png"
        if target.is_file() and target.stat().st_size > 0:
            return target
        try:
            image = open_image(entry.path, "RGB")
        except UserError:
            return None
        image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.NEAREST if max(image.size) <= THUMB_SIDE
                        else Image.Resampling.LANCZOS)
        real_folder(self.root, THUMBS)
        import io

        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)
        atomic_write_bytes(target, buffer.getvalue())
        return target


def _safe(text: str) -> str:
    """A file-name-safe version of an id or operation name."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)[:60] or "x"


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


# ---------------------------------------------------------------------------------------------------------------
# Reusing a result's settings


@dataclass
class ReusedSettings:
    """What "reuse settings" puts back in the parameters panel, checked: the backend, the model folder (None: a
    backend without weights, with `config`), and the generation or stylize options the record names."""

    backend: str
    model: Path | None
    config: dict[str, Any]
    options: dict[str, Any]  # seed, label, truncation, truncation_cutoff | strength, direction, choices {name: value}


def reuse_settings(record: Any, registry: Any) -> ReusedSettings:
    """Settings from an untrusted provenance record: the backend must be installed, the config goes through its
    schema (unknown keys and bad values refused), each option is type- and range-checked. UserError (one line)
    when the record cannot be reused."""
    if not isinstance(record, dict):
        raise UserError("this image carries no genstudio provenance: there are no settings to reuse")
    backend = record.get("backend")
    if not isinstance(backend, str) or backend not in registry.backends:
        raise UserError(f"this image was made by backend {str(backend)[:80]!r}, which is not installed")
    spec = registry.backends[backend]
    model = record.get("model")
    folder = None
    if isinstance(model, str) and model != backend and record.get("model_sha256"):
        folder = Path(model)
        if not (folder / "model.json").is_file():
            raise UserError(f"the model folder that made this image is gone: {model_title(model)} ({folder})")
    config: dict[str, Any] = {}
    if folder is None:
        raw = record.get("config") or {}
        if not isinstance(raw, dict):
            raise UserError("the image's recorded settings are not a mapping")
        config = spec.schema.resolve(raw)  # UserError for unknown keys and bad values
    parameters = record.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise UserError("the image's recorded parameters are not a mapping")
    return ReusedSettings(backend, folder, config, _options(parameters, spec))


def _options(parameters: dict[str, Any], spec: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    checks: dict[str, tuple[type, float, float]] = {
        "seed": (int, 0, MAX_SEED), "index": (int, 0, 1_000_000), "label": (int, 0, 1_000_000),
        "truncation": (float, 0.0, 1.0), "truncation_cutoff": (int, 0, 1000), "strength": (float, 0.0, 1.0),
        "max_size": (int, 0, 4096)}
    for name, (kind, low, high) in checks.items():
        value = parameters.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
            raise UserError(f"the image's recorded {name} is not a number: {str(value)[:40]!r}")
        if not low <= value <= high:
            raise UserError(f"the image's recorded {name} {value} is outside {low:g} … {high:g}")
        options[name] = kind(value)
    direction = parameters.get("direction")
    if direction is not None:
        from genstudio.inputs import InputKind

        declared = spec.input(InputKind.DIRECTION)
        if declared is None or direction not in declared.choices:
            raise UserError(f"the image's recorded direction {str(direction)[:40]!r} is not one {spec.id} offers")
        options["direction"] = direction
    from genstudio.inputs import InputKind, choose

    chosen = {}
    for declared in spec.inputs:  # a multi-style network's declared choices (genstudio.inputs.choose checks them)
        value = parameters.get(declared.name) if declared.kind == InputKind.CHOICE else None
        if value is not None:
            try:
                chosen[declared.name] = choose(declared, value)
            except UserError:
                raise UserError(f"the image's recorded {declared.name} {str(value)[:40]!r} is not one {spec.id} "
                                "offers") from None
    if chosen:
        options["choices"] = chosen
    return options


# ---------------------------------------------------------------------------------------------------------------
# Exports of a set of results


def contact_sheet(files: list[Path], *, columns: int | None = None, cell: int = 256, gap: int = 8,
                  captions: list[str] | None = None) -> np.ndarray:
    """A grid of `files` (each fitted into a `cell` px square, centred, on a dark background, captioned when
    `captions` are given) as H x W x 3 uint8 pixels."""
    import math

    from PIL import Image, ImageDraw

    from genstudio.data import open_image

    if not files:
        raise UserError("select at least one image for a contact sheet")
    columns = columns or max(1, math.ceil(math.sqrt(len(files))))
    rows = math.ceil(len(files) / columns)
    caption_height = 16 if captions else 0
    sheet = Image.new("RGB", (columns * (cell + gap) + gap, rows * (cell + gap + caption_height) + gap),
                      (30, 32, 36))
    draw = ImageDraw.Draw(sheet)
    for index, file in enumerate(files):
        image = open_image(file, "RGB")  # ImageDecodeError: a UserError naming the file
        scale = cell / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.NEAREST if scale >= 2 else Image.Resampling.LANCZOS)
        row, column = divmod(index, columns)
        x = gap + column * (cell + gap) + (cell - size[0]) // 2
        y = gap + row * (cell + gap + caption_height) + (cell - size[1]) // 2
        sheet.paste(image, (x, y))
        if captions and index < len(captions):
            text = captions[index] if len(captions[index]) <= cell // 7 else captions[index][:cell // 7 - 1] + "…"
            draw.text((gap + column * (cell + gap), gap + row * (cell + gap + caption_height) + cell + 2), text,
                      fill=(200, 204, 210))
    return np.asarray(sheet)


def animation_frames(files: list[Path]) -> list[Any]:
    """The files' pixels (RGB), for `genstudio.animation.save_animation`; a one-line error when sizes differ."""
    from genstudio.data import open_image

    if len(files) < 2:
        raise UserError("select at least two images for an animation")
    frames = [open_image(file, "RGB") for file in files]
    sizes = sorted({frame.size for frame in frames})
    if len(sizes) > 1:
        shown = ", ".join(f"{w}×{h}" for w, h in sizes[:4])
        raise UserError(f"the images of an animation must all have one size; the selection has {shown}")
    return frames


def unique_target(folder: Path, name: str) -> Path:
    """`folder/name`, or `name-2`, `name-3` ... when that exists: saving a set never overwrites a file."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while target.exists() or target.is_symlink():
        target = folder / f"{stem}-{number}{suffix}"
        number += 1
    return target


# ---------------------------------------------------------------------------------------------------------------
# A finished job's images

MAX_JOB_FILES = 5000  # images taken from one job's results


def result_files(params: dict[str, Any], result: Any) -> list[Path]:
    """The image files a finished job wrote, from its result: `files` (generate, interpolate), `written` outputs
    (reconstruct), or the batch journal in its `out` folder (stylize, translate, restore: every file the folder
    pipeline finished there). Only files inside the job's output folder that exist are returned."""
    from genstudio.batch.pipeline import JOURNAL

    if not isinstance(result, dict):
        return []
    out_text = result.get("out") or (params or {}).get("out")
    if not isinstance(out_text, str) or not out_text:
        return []
    out = Path(out_text).expanduser().resolve()
    listed: list[Any] = []
    if isinstance(result.get("files"), list):
        listed = result["files"]
    elif isinstance(result.get("written"), list):
        listed = [item.get("output") for item in result["written"] if isinstance(item, dict)]
    else:
        journal = out / JOURNAL
        if journal.is_file() and not journal.is_symlink():
            for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    relative = json.loads(line)["output"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill
                if isinstance(relative, str):
                    listed.append(str(out / relative))
    files: list[Path] = []
    for item in dict.fromkeys(str(value) for value in listed if isinstance(value, str)):
        path = Path(item).expanduser().resolve()
        if path.is_relative_to(out) and path.is_file():
            files.append(path)
        if len(files) >= MAX_JOB_FILES:
            break
    return files
