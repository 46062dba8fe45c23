"""Training checkpoints: one folder per step, written whole or not at all, never pickled.

    OUT/checkpoints/step-00000500/
        tensors.safetensors   every tensor of the state (weights, EMA, optimizer moments, RNG states)
        state.json            the skeleton that puts them back together, plus the sha256 of tensors.safetensors

A checkpoint is written into a hidden temporary folder, each file fsynced, state.json last, then renamed into
place; so a folder named `step-N` holding a state.json is complete, and a `.tmp-*` folder left by a killed run
is ignored and cleaned up. `load_checkpoint` is the one function that reads them back: it checks the format, the
hash and the skeleton.

Only what genstudio wrote is ever deleted: a folder counts as a checkpoint when its name is one this module gives
and it holds the `.genstudio-checkpoint` marker written first into every checkpoint (or, for checkpoints from
before the marker, a state.json). Anything else a user keeps in `checkpoints/` stays; and `checkpoints` itself
must be a real folder inside the model folder, never a link (see `genstudio.fileio.real_folder`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from genstudio.errors import ModelFileError
from genstudio.fileio import UnsafePathError, fsync_dir, json_text, real_folder, write_synced
from genstudio.training.state import flatten_state, unflatten_state

CHECKPOINTS_DIR = "checkpoints"
TENSORS_FILE = "tensors.safetensors"
STATE_FILE = "state.json"
FORMAT = "genstudio-checkpoint"
FORMAT_VERSION = 1
MARKER_FILE = ".genstudio-checkpoint"
_NAME = re.compile(r"^step-(\d{8,})$")
_TEMP_NAME = re.compile(r"^\.tmp-step-\d{8,}-\d+$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def checkpoints_folder(out_dir: str | Path) -> Path:
    """`out_dir/checkpoints`, made if missing; UnsafePathError when it is a link or a file."""
    return real_folder(out_dir, CHECKPOINTS_DIR)


def _ours(entry: Path) -> bool:
    """A real folder (not a link) holding genstudio's marker, or a state.json from before the marker."""
    return (not entry.is_symlink() and entry.is_dir()
            and ((entry / MARKER_FILE).is_file() or (entry / STATE_FILE).is_file()))


def list_checkpoints(out_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under `out_dir/checkpoints`, oldest first, as (step, folder)."""
    folder = Path(out_dir) / CHECKPOINTS_DIR
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match and _ours(entry) and (entry / STATE_FILE).is_file() and (entry / TENSORS_FILE).is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def write_checkpoint(out_dir: str | Path, step: int, state: dict[str, Any]) -> Path:
    """Write `state` as the checkpoint of `step`; an existing complete one for that step is kept as it is."""
    from safetensors.torch import save as save_tensors

    root = checkpoints_folder(out_dir)
    final = root / checkpoint_name(step)
    if _ours(final) and (final / STATE_FILE).is_file():
        return final
    if (final.exists() or final.is_symlink()) and not _ours(final):
        raise UnsafePathError(f"cannot write checkpoint {final}: a folder or file of that name that genstudio "
                              "did not write is in the way; move it")
    tensors, skeleton = flatten_state(state)
    blob = save_tensors(tensors, metadata={"format": FORMAT})
    temp = root / f".tmp-{checkpoint_name(step)}-{os.getpid()}"
    _remove(temp)
    temp.mkdir()
    write_synced(temp / MARKER_FILE, b"")  # first: from here on the folder is recognisably ours
    write_synced(temp / TENSORS_FILE, blob)
    head = {"format": FORMAT, "version": FORMAT_VERSION, "step": step,
            "tensors_sha256": hashlib.sha256(blob).hexdigest(), "state": skeleton}
    write_synced(temp / STATE_FILE, (json_text(head, indent=1) + "\n").encode("utf-8"))
    _remove(final)  # an incomplete checkpoint of the same step
    os.replace(temp, final)
    fsync_dir(root)
    return final


def load_checkpoint(folder: str | Path) -> dict[str, Any]:
    """Read and check one checkpoint folder; tensors come back on the CPU. Raises ModelFileError."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    folder = Path(folder)
    try:
        head = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        blob = (folder / TENSORS_FILE).read_bytes()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"checkpoint {folder} cannot be read ({exc})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ModelFileError(f"checkpoint {folder}: {STATE_FILE} is not a genstudio checkpoint")
    if head.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"checkpoint {folder}: unknown checkpoint version {head.get('version')!r}")
    if hashlib.sha256(blob).hexdigest() != head.get("tensors_sha256"):
        raise ModelFileError(f"checkpoint {folder}: {TENSORS_FILE} does not match its recorded sha256")
    try:
        state = unflatten_state(load_tensors(blob), head["state"])
    except (SafetensorError, ValueError, KeyError) as exc:
        raise ModelFileError(f"checkpoint {folder} is damaged ({exc})") from None
    if not isinstance(state, dict) or state.get("step") != head.get("step"):
        raise ModelFileError(f"checkpoint {folder}: state does not match its step")
    return state


def prune_checkpoints(out_dir: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete checkpoints, and stale temporary folders. Returns the removed."""
    complete = list_checkpoints(out_dir)
    removed = [folder for _, folder in complete[: max(0, len(complete) - keep)]]
    root = Path(out_dir) / CHECKPOINTS_DIR
    if root.is_dir() and not root.is_symlink():
        kept = {folder for _, folder in complete}
        removed += [entry for entry in root.iterdir() if entry not in kept and _ours(entry)
                    and (_NAME.match(entry.name) or _TEMP_NAME.match(entry.name))]
    for folder in removed:
        _remove(folder)
    return removed


def discard_after(out_dir: str | Path, step: int) -> list[Path]:
    """Delete the checkpoints after `step` (damaged ones a resume passed over): their steps will be redone."""
    removed = [folder for found, folder in list_checkpoints(out_dir) if found > step]
    for folder in removed:
        _remove(folder)
    return removed


def _remove(folder: Path) -> None:
    """Delete one of our checkpoint folders (never a link's target; a link itself is only unlinked)."""
    if folder.is_symlink():
        folder.unlink()
    elif folder.is_dir() and (_ours(folder) or folder.name.startswith(".tmp-")):
        shutil.rmtree(folder, ignore_errors=True)
