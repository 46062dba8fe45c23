"""What a job is: its statuses, the kinds genstudio knows, and the `Job` record read from the queue database.

A job moves through these statuses:

    queued --(worker claims it)--> running --> done | failed | cancelled
    queued <--> paused                       (held back by `JobQueue.hold` / `release`: the worker skips it)
    running --(its worker vanished)--> interrupted    (found by `JobQueue.recover` at start-up)
    failed | cancelled | interrupted --(retry)--> queued

`Job` is a plain, Qt-free snapshot of one row; the GUI polls `JobQueue.list()` and renders these.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

QUEUED = "queued"
RUNNING = "running"
PAUSED = "paused"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"

STATUSES = (QUEUED, RUNNING, PAUSED, DONE, FAILED, CANCELLED, INTERRUPTED)
WAITING = (QUEUED, PAUSED)  # not started yet: reorderable, cancellable without a process to stop
FINISHED = (DONE, FAILED, CANCELLED, INTERRUPTED)  # nothing runs; removable
RETRYABLE = (FAILED, CANCELLED, INTERRUPTED)

# The kinds named by the design; more can be registered (genstudio.jobs.runners.register_runner).
KINDS = ("train", "generate", "stylize-folder", "export", "eval", "plugin-install")

LOG_TAIL_LINES = 200  # lines of output kept in the database per job


@dataclass
class Job:
    """One row of the queue. Timestamps are Unix seconds (None until they happen)."""

    id: int
    kind: str
    params: dict[str, Any]
    status: str
    priority: int = 0  # higher runs first
    position: int = 0  # among equal priorities, lower runs first
    uses_gpu: bool = False  # counts against the worker's GPU-job limit
    task: str = ""  # what the running job says it is doing ("Training dcgan")
    done: float = 0.0  # progress units finished
    total: float | None = None  # progress units in all, None when unknown
    stats: dict[str, Any] = field(default_factory=dict)  # latest numbers: losses, images/s
    log_tail: str = ""  # the last LOG_TAIL_LINES lines of the job's output
    result: dict[str, Any] | None = None  # what the runner returned (paths, summary)
    error: str | None = None  # one line, for failed jobs
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    worker_pid: int | None = None  # the worker process that ran it last
    child_pid: int | None = None  # the child process that ran it last
    attempts: int = 0  # how many times it was started
    cancel_requested: bool = False
    resume: bool = False  # the next run continues earlier work (set by retry after a started attempt)
    log_path: str | None = None  # the full output of the last attempt

    @property
    def fraction(self) -> float | None:
        """Progress in [0, 1], or None when the total is unknown."""
        if not self.total:
            return 1.0 if self.status == DONE else None
        return max(0.0, min(1.0, self.done / self.total))

    @property
    def summary(self) -> str:
        """One short line saying what the job does, for tables."""
        return summarize(self.kind, self.params)

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left at the average rate so far, or None when it cannot be told."""
        fraction = self.fraction
        if self.status != RUNNING or not fraction or not self.started_at or fraction >= 1.0:
            return None
        return (now - self.started_at) * (1.0 - fraction) / fraction

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fraction"] = self.fraction
        data["summary"] = self.summary
        return data

    @classmethod
    def from_row(cls, row: Any) -> Job:
        """Build from a sqlite3.Row of the jobs table."""
        data = dict(row)
        return cls(
            id=data["id"], kind=data["kind"], params=json.loads(data["params"] or "{}"), status=data["status"],
            priority=data["priority"], position=data["position"], uses_gpu=bool(data["uses_gpu"]),
            task=data["task"] or "", done=data["done"] or 0.0, total=data["total"],
            stats=json.loads(data["stats"] or "{}"), log_tail=data["log_tail"] or "",
            result=json.loads(data["result"]) if data["result"] else None, error=data["error"],
            created_at=data["created_at"], started_at=data["started_at"], finished_at=data["finished_at"],
            updated_at=data["updated_at"], worker_pid=data["worker_pid"], child_pid=data["child_pid"],
            attempts=data["attempts"], cancel_requested=bool(data["cancel_requested"]), resume=bool(data["resume"]),
            log_path=data["log_path"],
        )


def summarize(kind: str, params: dict[str, Any]) -> str:
    """A short description of a job from its parameters."""
    if kind == "train":
        length = f"{params['steps']} steps" if "steps" in params else f"{params.get('epochs', '?')} epochs"
        return f"{params.get('backend', '?')} on {params.get('data', '?')} -> {params.get('out', '?')} ({length})"
    if kind == "generate":
        return f"{params.get('count', '?')} images from {params.get('model', '?')} -> {params.get('out', '?')}"
    if kind == "plugin-install":
        return str(params.get("requirement", "?"))
    text = " ".join(f"{key}={value}" for key, value in params.items())
    return text if len(text) <= 80 else text[:77] + "..."


def tail_lines(text: str, limit: int = LOG_TAIL_LINES) -> str:
    """The last `limit` lines of `text`, line ends kept (so more text can be appended)."""
    return "".join(text.splitlines(keepends=True)[-limit:])
