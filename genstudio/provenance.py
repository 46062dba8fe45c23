"""How an image was made, stored inside it: PNG files carry an iTXt chunk `genstudio` holding JSON.

`provenance(...)` assembles the record (genstudio version, plugin and backend, model hash, parameters, runtime and
device, time); `write_png` writes an image with it, atomically; `read_provenance` reads it back.

Time and reproducibility. The record says when the image was made (`time`, ISO 8601 UTC), yet generating the same
image twice should give the same file. Both hold: `write_png` leaves an existing file alone when it already holds
the same record apart from its time (the image is a function of that record), so re-running a command leaves the
first run's bytes, time included. For byte-identical files across folders or machines, set `SOURCE_DATE_EPOCH`
(the reproducible-builds convention): the recorded time is then that instant.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from genstudio._version import __version__
from genstudio.fileio import atomic_write_bytes, json_text

CHUNK = "genstudio"  # the iTXt keyword
TIME_KEY = "time"


def now_iso() -> str:
    """The current UTC time, or SOURCE_DATE_EPOCH's when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch.isdigit()
            else _dt.datetime.now(_dt.timezone.utc))
    return when.isoformat(timespec="seconds")


def provenance(
    *,
    backend: str,
    plugin: str,
    plugin_version: str,
    model_sha256: str | None,  # the weights' sha256 from model.json; None for backends without weights
    parameters: dict[str, Any],  # what the user chose: seed, index, label, truncation, strength, ...
    runtime: str,  # "torch" or "onnx"
    device: str,  # what actually ran it: "cpu", "cuda:0 (NVIDIA H100)", "onnx CPUExecutionProvider"
    **more: Any,  # anything else worth keeping (input file sha256, style image sha256, ...)
) -> dict[str, Any]:
    """One image's record, with the time it was made."""
    record: dict[str, Any] = {
        "genstudio": __version__,
        "plugin": plugin,
        "plugin_version": plugin_version,
        "backend": backend,
        "model_sha256": model_sha256,
        "parameters": parameters,
        "runtime": runtime,
        "device": device,
    }
    record.update(more)
    record[TIME_KEY] = now_iso()
    return record


# Fields that do not decide the pixels: when the image was made, and where its input and style files were at the
# time (a folder that moved still holds the same files, by sha256). Up-to-date checks compare records without them.
INCIDENTAL_KEYS = (TIME_KEY, "input", "style", "input_a", "input_b")


def without_time(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record without its incidental fields (`INCIDENTAL_KEYS`): what decides the pixels."""
    if record is None:
        return None
    return {key: value for key, value in record.items() if key not in INCIDENTAL_KEYS}


def to_uint8(image: Any) -> np.ndarray:
    """A C x H x W float tensor/array in [0, 1] (or H x W x C uint8) -> H x W x C uint8, rounded."""
    if hasattr(image, "detach"):
        image = image.detach().to("cpu").float().numpy()
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array if array.ndim == 3 else array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected a C x H x W image, got shape {array.shape}")
    return np.clip(np.rint(array.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def to_pil(image: Any) -> Image.Image:
    array = to_uint8(image)
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0], "L")
    if array.shape[2] == 3:
        return Image.fromarray(array, "RGB")
    if array.shape[2] == 4:
        return Image.fromarray(array, "RGBA")
    raise ValueError(f"cannot write an image with {array.shape[2]} channels")


# zlib level 1: about 4x faster than Pillow's default 6 on a 512 px photo (25 vs 117 ms) for files about 10% larger,
# the trade OpenCV's default makes too. On a 2-core machine the encoder shares the cores with inference, so this
# is the difference between a folder pipeline at 0.6 and at 0.85+ of a bare inference loop (bench/throughput.py).
PNG_COMPRESS_LEVEL = 1


def png_bytes(image: Any, record: dict[str, Any]) -> bytes:
    """The PNG file's bytes: pixels plus the `genstudio` iTXt chunk (nothing else that varies between runs)."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(CHUNK, json_text(record, sort_keys=True), zip=False)
    buffer = io.BytesIO()
    to_pil(image).save(buffer, "PNG", pnginfo=info, optimize=False, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The record stored in a PNG, or None when the file is missing, unreadable or has none."""
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                return None
            image.load()  # a truncated file fails here, so it does not count as up to date
            text = image.text.get(CHUNK) if hasattr(image, "text") else None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    if not text:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def is_up_to_date(path: str | os.PathLike[str], record: dict[str, Any]) -> bool:
    """True when `path` is a complete PNG already made from the same record (time aside)."""
    return Path(path).is_file() and without_time(read_provenance(path)) == without_time(record)


def write_png(path: str | os.PathLike[str], image: Any, record: dict[str, Any], *, overwrite: bool = False) -> bool:
    """Write `image` with `record` to `path` atomically. Returns False (and writes nothing) when the file is
    already up to date, unless `overwrite`."""
    if not overwrite and is_up_to_date(path, record):
        return False
    atomic_write_bytes(path, png_bytes(image, record))
    return True
