"""Short work off the GUI thread: a QRunnable that polls an abort flag and reports through signals on a separate
QObject (the superqt pattern). Long work goes through the job queue instead."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from genstudio.errors import Cancelled, UserError


class TaskSignals(QObject):
    item = Signal(object)  # one partial result (an image), as it comes
    finished = Signal(object)  # the function's return value
    failed = Signal(str)  # one line for the user
    cancelled = Signal()


_live: list[Task] = []  # started tasks, kept referenced until well after they end (the pool does not own them)
_KEEP_SECONDS = 5.0


class Task(QRunnable):
    """Runs `function(emit, abort)` on the global thread pool; `emit(x)` sends x through `signals.item`."""

    def __init__(self, function: Callable[[Callable[[Any], None], Callable[[], bool]], Any]):
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it (and its signals) alive until it ends
        self.function = function
        self.signals = TaskSignals()
        self._abort = threading.Event()
        self.done = threading.Event()
        self.ended_at = 0.0

    def abort(self) -> None:
        self._abort.set()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    def run(self) -> None:
        try:
            result = self.function(self.signals.item.emit, self._abort.is_set)
        except Cancelled:
            self.signals.cancelled.emit()
        except UserError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug in a plugin must not take the app down: show it, keep the traceback
            traceback.print_exc()
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            if self._abort.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)
        finally:
            self.ended_at = time.monotonic()
            self.done.set()

    def start(self) -> Task:
        """Run on the global pool. The task stays referenced (so Python cannot free it mid-run) until a while
        after it ends, even when its owner drops it."""
        now = time.monotonic()
        _live[:] = [task for task in _live if not task.done.is_set() or now - task.ended_at < _KEEP_SECONDS]
        _live.append(self)
        QThreadPool.globalInstance().start(self)
        return self
