"""One progress/event API for long work, free of Qt.

Long operations (training, a folder batch, an install) take an `EventSink` and an `AbortCheck`. They report
through a `Progress` handle; the CLI renders the events as a progress bar, the job queue stores them as rows
and the GUI shows them in its views: three renderings of the same stream.

    progress = Progress(sink, "Training", total=steps)
    for step in range(steps):
        ...
        progress.update(step + 1, loss_g=1.2, images_per_s=840.0)
    progress.finish()

Two stats keys carry pictures, as paths (events stay JSON): `PREVIEW` is an image of the work so far (an
optimisation's current image, rewritten every few seconds), `LAST_OUTPUT` the newest finished output of a batch.
The app shows them beside the job; other renderings may ignore them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from genstudio.errors import Cancelled

EventKind = Literal["begin", "progress", "log", "end"]
PREVIEW = "preview"  # stats key: path of an image of the work so far
LAST_OUTPUT = "last_output"  # stats key: path of the newest finished output


@dataclass(frozen=True)
class Event:
    """One thing that happened in a long operation. JSON-serialisable through `to_dict`."""

    kind: EventKind
    task: str  # what is running, for people: "Training dcgan"
    done: float = 0.0  # units finished so far (steps, images)
    total: float | None = None  # units in all, None when unknown
    stats: dict[str, Any] = field(default_factory=dict)  # numbers worth showing: losses, images/s
    message: str = ""  # a log line (kind "log") or the outcome (kind "end")
    level: str = "info"  # for logs: "info" | "warning" | "error"
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


EventSink = Callable[[Event], None]
AbortCheck = Callable[[], bool]


def null_sink(event: Event) -> None:
    """Discards events: for callers that do not watch."""


def never_abort() -> bool:
    return False


class Progress:
    """Reports one task's progress to a sink. Also raises `Cancelled` when asked to check the abort flag."""

    def __init__(
        self,
        sink: EventSink | None,
        task: str,
        total: float | None = None,
        abort: AbortCheck | None = None,
        done: float = 0.0,  # where a resumed task starts
    ):
        self.sink = sink or null_sink
        self.task = task
        self.total = total
        self.abort = abort or never_abort
        self.done = done
        self.stats: dict[str, Any] = {}
        self._emit("begin")

    def _emit(self, kind: EventKind, message: str = "", level: str = "info") -> None:
        self.sink(Event(kind, self.task, self.done, self.total, dict(self.stats), message, level))

    def update(self, done: float | None = None, advance: float = 0.0, **stats: Any) -> None:
        """Set (`done`) or advance the count and merge `stats`; emits one progress event."""
        self.done = done if done is not None else self.done + advance
        self.stats.update(stats)
        self._emit("progress")

    def log(self, message: str, level: str = "info") -> None:
        self._emit("log", message, level)

    def check_abort(self) -> None:
        """Raise `Cancelled` if the abort check says stop. Call it between units of work."""
        if self.abort():
            raise Cancelled(self.task)

    def finish(self, message: str = "done") -> None:
        self._emit("end", message)


class EventCollector:
    """A sink that keeps every event: for tests and for summaries."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of_kind(self, kind: EventKind) -> list[Event]:
        return [event for event in self.events if event.kind == kind]
