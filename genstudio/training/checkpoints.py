"""Training checkpoints: one folder per step, written whole or not at all, never pickled.

    OUT/checkpoints/step-00000500/
        tensors.safetensors   every tensor of the state (weights, EMA, optimizer moments, RNG states)
        state.json            the skeleton that puts them back together, plus the sha256 of tensors.safetensors

A checkpoint is written into a hidden temporary folder, each file fsynced, state.json last, then renamed into
place; so a folder named `step-N` holding a state.json is complete, and anything else (a `.tmp-*` folder left
by a killed run, a folder without state.json) is ignored and cleaned up. `load_checkpoint` is the one function
that reads them back: it checks the format, the hash and the skeleton.
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
from genstudio.fileio import fsync_dir, write_synced
from genstudio.training.state import flatten_state, unflatten_state

CHECKPOINTS_DIR = "checkpoints"
TENSORS_FILE = "tensors.safetensors"
STATE_FILE = "state.json"
FORMAT = "genstudio-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step-(\d{8,})$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def list_checkpoints(out_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under `out_dir/checkpoints`, oldest first, as (step, folder)."""
    folder = Path(out_dir) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match and entry.is_dir() and (entry / STATE_FILE).is_file() and (entry / TENSORS_FILE).is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def write_checkpoint(out_dir: str | Path, step: int, state: dict[str, Any]) -> Path:
    """Write `state` as the checkpoint of `step`; an existing complete one for that step is kept as it is."""
    from safetensors.torch import save as save_tensors

    root = Path(out_dir) / CHECKPOINTS_DIR
    final = root / checkpoint_name(step)
    if (final / STATE_FILE).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tensors, skeleton = flatten_state(state)
    blob = save_tensors(tensors, metadata={"format": FORMAT})
    temp = root / f".tmp-{checkpoint_name(step)}-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    write_synced(temp / TENSORS_FILE, blob)
    head = {"format": FORMAT, "version": FORMAT_VERSION, "step": step,
            "tensors_sha256": hashlib.sha256(blob).hexdigest(), "state": skeleton}
    write_synced(temp / STATE_FILE, (json.dumps(head, indent=1) + "\n").encode("utf-8"))
    shutil.rmtree(final, ignore_errors=True)  # an incomplete folder of the same name
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
    if root.is_dir():
        kept = {folder for _, folder in complete}
        removed += [entry for entry in root.iterdir() if entry.is_dir() and entry not in kept]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def discard_after(out_dir: str | Path, step: int) -> list[Path]:
    """Delete the checkpoints after `step` (damaged ones a resume passed over): their steps will be redone."""
    removed = [folder for found, folder in list_checkpoints(out_dir) if found > step]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed
