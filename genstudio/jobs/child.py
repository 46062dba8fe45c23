"""The job's child process: run one runner, stream its events to the parent, report the outcome.

Started by `genstudio.jobs.execution` with the multiprocessing "spawn" context, so it shares nothing with the
parent but what it is given: the runner's "module:function" name, the params, one end of a pipe and a cancel
event. Its stdout and stderr (Python's and the C level's, so pip output and fault dumps too) go to the job's
log file, which the parent tails into the database. Messages on the pipe:

    ("event", Event.to_dict())     begin / progress / log / end, progress thinned to CHILD_EVENT_INTERVAL
    ("result", dict)               the runner returned (JSON-safe copy)
    ("cancelled", None)            the runner raised Cancelled
    ("error", one line)            the runner raised; the traceback (for bugs) is in the log

If the parent dies, the abort check turns True (a training run checkpoints and stops), and the child exits by
itself after PARENT_GONE_GRACE seconds.
"""

from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

CHILD_EVENT_INTERVAL = 0.05  # seconds between progress events sent to the parent (others go at once)
PARENT_GONE_GRACE = 60.0  # seconds a child outlives its parent, to checkpoint


def _redirect_output(log_path: str) -> None:
    log = open(log_path, "a", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115 (lives as long as we do)
    for fd in (1, 2):
        os.dup2(log.fileno(), fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    faulthandler.enable(file=sys.stderr)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class _Link:
    """The child's side of the pipe: sends events (progress thinned) and notices a dead parent."""

    def __init__(self, conn: Any, cancel: Any):
        self.conn = conn
        self.cancel = cancel
        self.parent_gone = threading.Event()
        self._last_progress = 0.0
        self._pending: dict | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._watch_parent, daemon=True, name="watch-parent").start()

    def _watch_parent(self) -> None:
        parent = multiprocessing.parent_process()
        while parent is None or parent.is_alive():
            time.sleep(0.5)
        self.parent_gone.set()
        print("the worker process went away; stopping", flush=True)
        time.sleep(PARENT_GONE_GRACE)
        os._exit(3)

    def abort(self) -> bool:
        return self.cancel.is_set() or self.parent_gone.is_set()

    def send(self, message: tuple) -> None:
        with self._lock:
            try:
                self.conn.send(message)
            except (BrokenPipeError, OSError):
                self.parent_gone.set()

    def sink(self, event: Any) -> None:
        data = event.to_dict()
        if event.kind == "progress":
            now = time.monotonic()
            if now - self._last_progress < CHILD_EVENT_INTERVAL:
                self._pending = data
                return
            self._last_progress = now
        else:
            self.flush()
            if event.kind == "log":
                prefix = "" if event.level == "info" else f"{event.level}: "
                print(f"{prefix}{event.message}", flush=True)
            elif event.kind == "begin":
                print(f"{event.task}: started", flush=True)
            elif event.kind == "end":
                print(f"{event.task}: {event.message}", flush=True)
        self._pending = None
        self.send(("event", data))

    def flush(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.send(("event", pending))


def child_main(target: str, params: dict[str, Any], conn: Any, cancel: Any, log_path: str) -> None:
    """Entry point of the spawned process (module-level so spawn can find it)."""
    _redirect_output(log_path)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the worker's terminal: the worker stops us cleanly
    from genstudio.errors import Cancelled, UserError
    from genstudio.jobs.runners import load_runner

    link = _Link(conn, cancel)
    try:
        runner = load_runner(target)
        result = runner(params, link.sink, link.abort)
        link.flush()
        link.send(("result", _json_safe(result if result is not None else {})))
    except Cancelled:
        link.flush()
        link.send(("cancelled", None))
    except UserError as exc:
        link.flush()
        print(f"error: {exc}", flush=True)
        link.send(("error", str(exc)))
    except BaseException as exc:  # a bug, or a KeyboardInterrupt: keep the traceback in the log
        link.flush()
        traceback.print_exc()
        line = " ".join(f"{type(exc).__name__}: {exc}".split())
        link.send(("error", line[:500]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        conn.close()
