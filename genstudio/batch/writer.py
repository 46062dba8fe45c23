"""Encoding a batch result with its provenance: PNG carries it in an iTXt chunk, JPEG and WebP in a sidecar
`<name>.<ext>.json` next to the image (written first, so an image never exists without its record)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.fileio import atomic_write_bytes, atomic_write_json
from genstudio.provenance import png_bytes, read_provenance, to_pil, without_time


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def encode(pixels: np.ndarray, fmt: str, quality: int) -> bytes:
    """H x W x C uint8 -> the file's bytes (JPEG/WebP; PNG goes through `png_bytes` with its record)."""
    image = to_pil(pixels)
    buffer = io.BytesIO()
    if fmt == "jpg":
        image.convert("RGB").save(buffer, "JPEG", quality=quality, optimize=True)
    else:
        image.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def write_result(path: Path, pixels: np.ndarray, record: dict[str, Any], fmt: str, quality: int) -> None:
    if fmt == "png":
        atomic_write_bytes(path, png_bytes(pixels, record))
        return
    atomic_write_json(sidecar(path), record)
    atomic_write_bytes(path, encode(pixels, fmt, quality))


def stored_record(path: Path, fmt: str) -> dict[str, Any] | None:
    """The provenance an existing output carries (None when missing or unreadable)."""
    if fmt == "png":
        return read_provenance(path)
    if not path.is_file() or not sidecar(path).is_file():
        return None
    try:
        record = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def up_to_date(path: Path, record: dict[str, Any], fmt: str) -> bool:
    return path.is_file() and without_time(stored_record(path, fmt)) == without_time(record)


FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}  # file suffix -> writer format


def provenance_of(path: str | Path) -> tuple[dict[str, Any] | None, str]:
    """(the record an output carries or None, its format): a PNG's own chunk, a JPEG/WebP's .json sidecar."""
    fmt = FORMATS.get(Path(path).suffix.lower(), "png")
    return stored_record(Path(path), fmt), fmt
