"""Qt-free: where the app looks for trained models, and what it shows about each one.

Models are folders holding model.json (see genstudio.models). The app looks in its "models folder" setting
(default: data_dir()/models) two levels deep, and in folders the user opened or trained (remembered in the
settings). A folder still training has metrics.jsonl but no model.json yet: it is listed as "training".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genstudio import paths
from genstudio.errors import UserError

MODELS_FOLDER_KEY = "gui.models_folder"
REMEMBERED_KEY = "gui.model_folders"
_MAX_REMEMBERED = 50


@dataclass
class ModelEntry:
    """One model folder as the library shows it."""

    folder: Path
    backend: str  # "" when unknown (a folder still training, before its model.json exists)
    created: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)
    error: str = ""  # why model.json could not be read

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def samples(self) -> Path | None:
        path = self.folder / "samples.png"
        return path if path.is_file() else None

    @property
    def training(self) -> bool:
        """Training output without a finished model.json yet."""
        return not self.backend and not self.error

    def summary(self) -> str:
        """A line for tooltips: backend, when, last metrics."""
        parts = [self.backend or "training…"]
        if self.created:
            parts.append(self.created.replace("T", " ")[:16])
        last = last_metrics(self.folder)
        for key in ("step", "loss_g", "loss_d", "loss"):
            if key in last and isinstance(last[key], (int, float)):
                parts.append(f"{key} {last[key]:.4g}" if isinstance(last[key], float) else f"{key} {last[key]}")
        for key, value in self.metrics.items():
            if isinstance(value, (int, float)):
                parts.append(f"{key} {value:.4g}")
        if self.error:
            parts.append(self.error)
        return " · ".join(parts)


@dataclass(frozen=True)
class RunState:
    """What the queue says about the training run writing a folder."""

    backend: str
    status: str  # the train job's status: queued, paused, running, done, failed, cancelled, interrupted
    error: str = ""  # the job's one-line error, when it failed
    job_id: int = 0


RUN_SUFFIX = {"queued": " (queued)", "paused": " (held)", "running": " (training…)", "failed": " (failed)",
              "cancelled": " (stopped)", "interrupted": " (interrupted)"}


def queued_runs(queue: Any) -> dict[Path, RunState]:
    """Folder -> the state of the newest train job writing it (CLI-queued runs too)."""
    runs: dict[Path, RunState] = {}
    for job in sorted(queue.list(kind="train"), key=lambda job: job.id):
        if job.params.get("out"):
            runs[Path(job.params["out"]).resolve()] = RunState(str(job.params.get("backend", "")), job.status,
                                                               job.error or "", job.id)
    return runs


def entry_label(entry: ModelEntry, state: RunState | None = None) -> str:
    """The library's line for a model folder: its name, and how its run stands while it has no model.json (a
    failed run says failed, never "training…")."""
    if entry.error:
        return f"{entry.name} (unreadable)"
    if not entry.training:
        return entry.name
    if state is None:
        return f"{entry.name} (training…)"
    return entry.name + RUN_SUFFIX.get(state.status, " (no model)" if state.status == "done" else "")


def _settings():
    from genstudio.settings import Settings

    return Settings.load()


def models_folder() -> Path:
    """The folder the app lists models from and proposes for new training runs."""
    value = _settings().get(MODELS_FOLDER_KEY)
    return Path(value).expanduser() if value else paths.data_dir() / "models"


def set_models_folder(folder: str | Path) -> None:
    _settings().set(MODELS_FOLDER_KEY, str(Path(folder).expanduser().resolve()))


def remembered_folders() -> list[Path]:
    return [Path(text) for text in _settings().get(REMEMBERED_KEY, []) if isinstance(text, str)]


def remember_folder(folder: str | Path) -> None:
    """Keep a model folder (opened or being trained) in the library across restarts."""
    settings = _settings()
    text = str(Path(folder).expanduser().resolve())
    kept = [item for item in settings.get(REMEMBERED_KEY, []) if item != text]
    settings.set(REMEMBERED_KEY, [text, *kept][:_MAX_REMEMBERED])


def read_entry(folder: str | Path) -> ModelEntry:
    """The library entry of one folder (never raises for a bad model.json: the error is shown instead)."""
    from genstudio.models import CARD_FILE, read_card

    folder = Path(folder)
    if not (folder / CARD_FILE).is_file():
        return ModelEntry(folder, "")
    try:
        card = read_card(folder)
    except UserError as exc:
        return ModelEntry(folder, "", error=str(exc))
    return ModelEntry(folder, card.backend, card.created, dict(card.metrics), dict(card.config),
                      [str(name) for name in card.extra.get("class_names") or []])


def _candidates(root: Path) -> list[Path]:
    """Folders under `root` (itself, children, grandchildren) that look like models or training runs."""
    found = []
    if not root.is_dir():
        return found
    levels = [root]
    for _ in range(3):
        next_level = []
        for folder in levels:
            if (folder / "model.json").is_file() or (folder / "metrics.jsonl").is_file():
                found.append(folder)
                continue
            try:
                next_level += sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError:
                continue
        levels = next_level
    return found


def find_models(roots: list[Path] | None = None, extra: list[Path] | None = None) -> list[ModelEntry]:
    """Every model folder under `roots` (default: the models folder) plus `extra` (default: remembered ones)."""
    roots = [models_folder()] if roots is None else roots
    extra = remembered_folders() if extra is None else extra
    seen: dict[Path, None] = {}
    for root in roots:
        for folder in _candidates(Path(root)):
            seen.setdefault(folder.resolve(), None)
    for folder in extra:
        if Path(folder).is_dir():
            seen.setdefault(Path(folder).resolve(), None)
    return [read_entry(folder) for folder in seen]


def last_metrics(folder: Path) -> dict[str, Any]:
    """The last complete record of folder/metrics.jsonl (reads only the file's tail)."""
    import json

    path = Path(folder) / "metrics.jsonl"
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            lines = handle.read().splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict):
            return record
    return {}
