"""Atomic file writes, link-safe folders and hashing.

Every file genstudio writes goes through `atomic_write`: the bytes go to a temporary file in the same folder,
are flushed and fsynced, then renamed over the target. A killed process leaves either the old file or the new
one, never half of either; and since the rename replaces a symbolic link at the target rather than writing
through it, no file write follows a link out of its folder.

Folders below the one the user chose are made with `real_folder`, which refuses a symbolic link anywhere between
the chosen folder and the one written into: so a `checkpoints` or `samples` link planted in a model folder, or a
linked subfolder in an output tree, cannot send writes (or the pruning of old checkpoints) elsewhere. Append-only
files (journals, logs) are opened with `open_append`, which refuses a link.

Paths that came from the file system may hold undecodable bytes (`os.fsdecode` turns them into lone surrogates);
`atomic_write_json` and `json_text` write them as JSON escapes, so one odd file name cannot stop a model.json.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from genstudio.errors import UserError

_NAME_ROOM = 80  # characters of the target's name kept in a temporary name: within NAME_MAX for any target


class UnsafePathError(UserError):
    """A write was refused because it would go through a symbolic link or out of the chosen folder."""


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # what open() would give a new file; mkstemp alone gives 0600


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to `path`; on a clean exit it replaces `path` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp_name, _FILE_MODE)
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(target.parent)


def temp_file_beside(target: str | os.PathLike[str]) -> Path:
    """A new empty temporary file in `target`'s folder, with ordinary permissions: for writers (onnx.save, ...)
    that want a path rather than a handle. Rename it over `target` when complete; delete it otherwise."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(name, _FILE_MODE)
    return Path(name)


def _temp_prefix(target: Path) -> str:
    """A hidden temporary name beside `target` that fits the file system's name limit however long its name."""
    return f".{target.name[:_NAME_ROOM]}."


def real_folder(root: str | os.PathLike[str], relative: str | os.PathLike[str] = "", make: bool = True) -> Path:
    """`root/relative`, made if missing (and `make`), after checking that no folder from `root` (exclusive: the
    user chose it) down to it is a symbolic link or a file. Raises UnsafePathError, or UserError when the folder
    cannot be made (a file in the way, no permission)."""
    base = Path(root)
    if base.exists() and not base.is_dir():
        raise UserError(f"cannot write into {base}: it is a file, not a folder")
    current = base
    for part in Path(relative).parts:
        if part in ("", ".", "..") or os.sep in part:
            raise UnsafePathError(f"refusing to write into {base / relative}: it leaves {base}")
        current = current / part
        if current.is_symlink():
            raise UnsafePathError(f"refusing to write into {current}: it is a symbolic link (genstudio writes only "
                                  f"into real folders inside {base}); remove the link or choose another folder")
        if current.exists() and not current.is_dir():
            raise UnsafePathError(f"cannot write into {current}: it is a file, not a folder")
    if make:
        try:
            current.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder {current}: {exc.strerror or exc}") from None
        if not os.access(current, os.W_OK | os.X_OK):
            raise UserError(f"cannot write into {current}: permission denied")
    return current


def fit_name(stem: str, suffix: str, limit: int = 240) -> str:
    """`stem + suffix`, the stem shortened (at a character boundary) so the name's UTF-8 bytes stay within
    `limit`: below the usual 255-byte name limit, with room for what writers add (`-compare`, `-2`)."""
    room = limit - len(suffix.encode("utf-8", "surrogateescape"))
    encoded = stem.encode("utf-8", "surrogateescape")
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", "ignore").encode("utf-8", "surrogateescape")[:room].decode(
            "utf-8", "surrogateescape")
    return stem + suffix


def open_append(path: str | os.PathLike[str]) -> IO[str]:
    """Open a text file for appending (created if missing), refusing a symbolic link: for journals and logs."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError:
        if Path(path).is_symlink():
            raise UnsafePathError(f"refusing to append to {path}: it is a symbolic link") from None
        raise
    return os.fdopen(fd, "a", encoding="utf-8", errors="surrogateescape")


def json_text(obj: Any, **options: Any) -> str:
    """`json.dumps` that keeps non-ASCII text readable but writes lone surrogates (undecodable bytes of a file name)
    as escapes, so the result always encodes as UTF-8 and reads back to the same string."""
    text = json.dumps(obj, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, **options)
    return text


def write_synced(path: str | os.PathLike[str], data: bytes) -> None:
    """Write and fsync a file in place: for files inside a temporary folder that is renamed as a whole."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Persist renames inside `folder` (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_bytes(path, (json_text(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
