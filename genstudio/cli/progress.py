"""Render the event API (genstudio.events) as a rich progress bar on stderr."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from genstudio.cli.output import console_err, shown
from genstudio.events import Event


def _format_stats(stats: dict) -> str:
    parts = []
    for key, value in stats.items():
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return "  ".join(parts)


class ProgressBar:
    """An EventSink: one bar per task, with count, ETA and the latest stats; log events print above the bars.

    Use as a context manager; pass the instance wherever an EventSink is expected. `enabled=False` (e.g. with
    --json) keeps only warnings and errors.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            console=console_err,
            transient=False,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.enabled:
            self._progress.stop()

    def __call__(self, event: Event) -> None:
        if event.kind == "log":
            if self.enabled or event.level != "info":
                style = {"warning": "yellow", "error": "red"}.get(event.level, "")
                message = shown(event.message)  # paths and plugin text stay text (brackets are not markup)
                console_err.print(f"[{style}]{message}[/]" if style else message, highlight=False)
            return
        if not self.enabled:
            return
        task_id = self._tasks.get(event.task)
        if task_id is None:
            task_id = self._progress.add_task(event.task, total=event.total, stats="")
            self._tasks[event.task] = task_id
        self._progress.update(task_id, completed=event.done, total=event.total, stats=_format_stats(event.stats))
        if event.kind == "end":
            self._progress.update(task_id, completed=event.total if event.total is not None else event.done)
