"""Which files a folder batch processes, and where each result goes: the input tree mirrored under --out.

Safety rules, all enforced here:
- an output path always lies inside the output folder (names are built from the input's relative path, and
  the resolved result is checked, so `..`, absolute names and symlinked output folders cannot escape);
- symlinks are not followed out of an input root: a linked file or folder whose target lies outside the root
  is listed as skipped, never read;
- the output folder itself is never read as input (stylizing a folder into a subfolder of itself works);
- only regular files are read: a FIFO, socket or device named like an image is passed over, never opened;
- every input gets its own output: when files in one folder differ only in extension (`b.jpg`, `b.png`), each
  output keeps its input's extension in its name (`b.jpg.png`, `b.png.png`); a file alone under its name
  gets the plain one (`b.png`).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from genstudio.data import IMAGE_FORMATS, BadFile
from genstudio.errors import UserError

OUTPUT_FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


@dataclass(frozen=True)
class Item:
    """One input file and its place in the output tree."""

    source: Path  # absolute
    relative: Path  # the output's path under --out, without the new suffix's change applied
    keep_suffix: bool = False  # another input differs only in extension: the output name keeps this one's


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _walk(root: Path, recursive: bool, out_dir: Path, skipped: list[BadFile]) -> list[Path]:
    """Files below `root` (sorted), not following links out of it, not entering `out_dir`."""
    found: list[Path] = []
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(current)
        kept = []
        for name in sorted(dirnames):
            folder = here / name
            if name.startswith(".") or _inside(folder.resolve(), out_dir):
                continue
            if folder.is_symlink():  # never followed: inside the root its target is walked anyway
                if not _inside(folder.resolve(), root):
                    skipped.append(BadFile(str(folder), "symlink to a folder outside the input folder"))
                continue
            kept.append(name)
        dirnames[:] = kept if recursive else []
        for name in sorted(filenames):
            if not name.startswith("."):
                found.append(here / name)
    return found


def collect(
    inputs: list[str | os.PathLike[str]],  # files and folders
    out_dir: str | os.PathLike[str],
    *,
    recursive: bool = False,
    pattern: str | None = None,  # a glob on the file name, e.g. "*.jpg"
) -> tuple[list[Item], list[BadFile]]:
    """The items to process and the files passed over (unsupported extension, unsafe link), in a stable order."""
    if not inputs:
        raise UserError("give at least one input file or folder")
    out_root = Path(out_dir).expanduser().resolve()
    items: list[Item] = []
    skipped: list[BadFile] = []
    folders = [Path(p).expanduser() for p in inputs if Path(p).expanduser().is_dir()]
    prefix_folders = len(folders) > 1  # several folders: each keeps its name under --out
    seen: set[Path] = set()
    for raw in inputs:
        given = Path(raw).expanduser()
        if not given.exists() and not given.is_symlink():
            raise UserError(f"input not found: {given}")
        if given.is_dir():
            root = given.resolve()
            for path in _walk(root, recursive, out_root, skipped):
                relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
                if prefix_folders:
                    relative = Path(root.name) / relative
                _add(path, relative, root, pattern, items, skipped, seen)
        else:
            _add(given.absolute(), Path(given.name), given.absolute().parent, pattern, items, skipped, seen)
    stems = Counter(item.relative.with_suffix("") for item in items)
    return [replace(item, keep_suffix=True) if stems[item.relative.with_suffix("")] > 1 else item
            for item in items], skipped


def _add(path: Path, relative: Path, root: Path, pattern: str | None, items: list[Item], skipped: list[BadFile],
         seen: set[Path]) -> None:
    if pattern and not fnmatch.fnmatch(path.name, pattern):
        return
    if path.suffix.lower() not in IMAGE_FORMATS:
        skipped.append(BadFile(str(path), f"unsupported file type {path.suffix or '(none)'}"))
        return
    if path.is_symlink() and not _inside(path.resolve(), root.resolve()):
        skipped.append(BadFile(str(path), "symlink to a file outside the input folder"))
        return
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError as exc:
        skipped.append(BadFile(str(path), f"cannot read: {exc.strerror or exc}"))
        return
    if not regular:
        skipped.append(BadFile(str(path), "not a regular file"))
        return
    if relative in seen:
        skipped.append(BadFile(str(path), f"another input already writes {relative}"))
        return
    seen.add(relative)
    items.append(Item(path, relative))


def output_path(out_dir: str | os.PathLike[str], item: Item, fmt: str) -> Path:
    """Where `item`'s result goes; UserError when that would leave `out_dir`."""
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    root = Path(out_dir).expanduser().resolve()
    name = item.relative.name if item.keep_suffix else item.relative.stem
    relative = item.relative.parent / (name + OUTPUT_FORMATS[fmt])
    if relative.is_absolute() or ".." in relative.parts:
        raise UserError(f"refusing to write {relative}: outside the output folder")
    target = root / relative
    resolved = target.parent.resolve() / target.name
    if not _inside(resolved, root) or (target.is_symlink()):
        raise UserError(f"refusing to write {target}: it resolves outside the output folder {root}")
    return target
