"""A class-folder dataset from a conditional generator: the parts of `genstudio generate --per-class N
--layout folders [--mix-real DIR]` beyond sampling (which stays in genstudio.generate_folder).

The folder it writes is what genstudio.data, torchvision's ImageFolder and most training scripts read: one
subfolder per class (named as the model's classes), generated PNGs (each with its provenance), optionally the real
images of a folder with the same classes copied in (`real-` before their names, checked through the image allowlist
of genstudio.data and copied byte for byte), and `manifest.json` (written atomically) saying what came from where.
Re-running the command leaves every file that is up to date alone, the manifest included.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genstudio.data import DATASET_MANIFEST
from genstudio.errors import ImageDecodeError, UserError
from genstudio.events import Progress

MANIFEST = DATASET_MANIFEST  # genstudio.data passes over it at a dataset's root
MANIFEST_FORMAT = "genstudio-class-folders/1"
REAL_PREFIX = "real-"
LAYOUTS = ("flat", "folders")


def check_layout(layout: str) -> str:
    layout = str(layout or "flat").lower()
    if layout not in LAYOUTS:
        raise UserError(f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    return layout


def class_folder(name: str) -> str:
    """The folder a class's images go in: its name when that is one safe, visible path component, else a slug."""
    if name and name not in (".", "..") and not name.startswith(".") and "/" not in name and "\\" not in name \
            and all(ord(char) >= 32 and ord(char) != 127 for char in name) and len(name.encode("utf-8")) <= 200:
        return name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:100] or "class"


def class_folders(class_names: list[str]) -> list[str]:
    """class_folder of each class, refusing two classes that would share a folder."""
    folders = [class_folder(name) for name in class_names]
    seen: dict[str, str] = {}
    for name, folder in zip(class_names, folders, strict=True):
        if folder in seen:
            raise UserError(f"classes {seen[folder]!r} and {name!r} would share the folder {folder!r}")
        seen[folder] = name
    return folders


@dataclass
class RealCopy:
    """What mixing in a real folder did."""

    source: str
    copied: int = 0  # files written by this run
    unchanged: int = 0  # already there with the same bytes
    files: list[dict[str, Any]] = field(default_factory=list)  # {"file", "source", "sha256", "class"}
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}: not an allowlisted image
    per_class: dict[str, int] = field(default_factory=dict)


def scan_real(real_dir: str | os.PathLike[str], class_names: list[str]) -> Any:
    """The FolderScan of a real class-folder dataset to mix in; UserError (one line) when it has no class folders
    or one the model does not know. Called before anything is generated."""
    from genstudio.data import scan_folder

    scan = scan_folder(real_dir)
    if not scan.classes:
        raise UserError(f"--mix-real {scan.root} has no class folders; it needs one subfolder per class "
                        f"({', '.join(class_names[:5])}{', ...' if len(class_names) > 5 else ''})")
    unknown = [name for name in scan.classes if name not in class_names]
    if unknown:
        raise UserError(f"--mix-real {scan.root} has class folder(s) the model does not know: "
                        f"{', '.join(map(repr, unknown[:5]))}; its classes are {', '.join(class_names[:20])}")
    return scan


def copy_real(scan: Any, out: Path, class_names: list[str], reporter: Progress | None = None) -> RealCopy:
    """Copy the images of a scan_real() dataset into `out`'s class folders as `real-<name>`, byte for byte. A file
    the image allowlist refuses (genstudio.data.open_image: format, truncation, bombs) is skipped and listed; a
    file already there with the same bytes is left alone; a planted link is replaced, never written through."""
    from genstudio.fileio import atomic_write_bytes, fit_name, real_folder, sha256_file

    folders = dict(zip(class_names, class_folders(class_names), strict=True))
    own = str(scan.root / MANIFEST)  # a dataset this command wrote before: its manifest is no lost image
    result = RealCopy(str(scan.root), skipped=[{"path": bad.path, "reason": bad.reason} for bad in scan.skipped
                                               if bad.path != own])
    used: set[str] = set()
    for path, label in zip(scan.files, scan.labels, strict=True):
        if reporter is not None:
            reporter.check_abort()
        name = scan.classes[label]
        relative = path.relative_to(scan.root / name)
        problem = _refused(path)
        if problem:
            result.skipped.append({"path": str(path), "reason": problem})
            continue
        folder = real_folder(out, folders[name])
        stem = REAL_PREFIX + "_".join(relative.with_suffix("").parts)
        target_name = fit_name(stem, path.suffix.lower())
        while target_name in used:  # a.png in two subfolders of one class would share a flattened name
            stem += "_"
            target_name = fit_name(stem, path.suffix.lower())
        used.add(target_name)
        target = folder / target_name
        digest = sha256_file(path)
        if target.is_file() and not target.is_symlink() and sha256_file(target) == digest:
            result.unchanged += 1
        else:
            atomic_write_bytes(target, path.read_bytes())  # replaces a planted link, never writes through it
            result.copied += 1
        result.files.append({"file": f"{folders[name]}/{target_name}", "source": str(path), "sha256": digest,
                             "class": name})
        result.per_class[name] = result.per_class.get(name, 0) + 1
    return result


def _refused(path: Path) -> str | None:
    """Why the image allowlist refuses `path` (a few words), or None when it decodes."""
    from genstudio.data import open_image

    try:
        open_image(path)
    except ImageDecodeError as exc:
        return str(getattr(exc, "reason", exc))
    return None


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    """`out/manifest.json`, written atomically, and only when its content changed (a rerun leaves it alone)."""
    from genstudio.fileio import atomic_write_json, json_text

    path = out / MANIFEST
    if path.is_dir() or path.is_symlink() and not path.exists():
        raise UserError(f"cannot write the manifest {path}: something else is in the way")
    wanted = json_text(manifest, indent=2, sort_keys=True) + "\n"
    try:
        if path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == wanted:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write_json(path, manifest)
    return path


def manifest(sampler: Any, *, seed: int, truncation: float, series: list[tuple[int | None, int, int]],
             generated: dict[int, int], folders: list[str], real: RealCopy | None) -> dict[str, Any]:
    """What the folder holds and where it came from: the generator (backend, plugin, model and its sha256), the
    requests that made the generated images (`series`: label or None for cycling, first index, count; each PNG
    also carries its own provenance, and `genstudio reproduce FILE` makes it again), the images per class, and
    the real files copied in with their sources and sha256."""
    from genstudio._version import __version__

    spec, loaded = sampler.spec, sampler.loaded
    classes: dict[str, dict[str, Any]] = {}
    for label, folder in enumerate(folders):
        name = sampler.label_name(label)
        real_count = real.per_class.get(name, 0) if real is not None else 0
        if generated.get(label) or real_count:
            classes[name] = {"folder": folder, "label": label, "generated": generated.get(label, 0),
                             "real": real_count}
    return {
        "format": MANIFEST_FORMAT,
        "genstudio_version": __version__,
        "generator": {"backend": spec.id, "plugin": spec.plugin, "plugin_version": spec.plugin_version,
                      "model": sampler.model_ref,
                      "model_sha256": loaded.card.weights_sha256 if loaded is not None else None,
                      "config": dict(sampler.config) if sampler.config is not None else None,
                      "runtime": sampler.runtime, "device": sampler.device_text},
        "seed": seed,
        "truncation": truncation,
        "series": [{"label": label, "first_index": first, "count": count} for label, first, count in series],
        "classes": classes,
        "generated": sum(generated.values()),
        "real": None if real is None else {"source": real.source, "files": real.files, "skipped": real.skipped},
    }
