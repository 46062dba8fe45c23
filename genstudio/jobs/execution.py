"""The parent's side of one running job: start its child process, pump its events into the queue, end it.

`Execution.start()` spawns the child (genstudio.jobs.child) with the multiprocessing "spawn" context; the worker
then calls `poll()` often (it is non-blocking; `wait_handles()` tells what to sleep on). `poll()` stores the
latest progress and the tail of the job's log in the database at most every FLUSH_INTERVAL seconds, relays a
cancel request from the database to the child, and once the child is gone records the outcome:

    runner returned                  -> done (or cancelled / interrupted if it returned {"cancelled": True})
    runner raised Cancelled          -> cancelled (interrupted when the worker was stopping)
    runner raised                    -> failed, with the one-line error
    process died without a word      -> failed: "exit code N" or "killed by signal SIGSEGV (...)"

A stop (cancel or worker shutdown) is cooperative first: the child's abort check turns True. After `grace`
seconds the child is terminated, then killed KILL_AFTER seconds later.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.jobs.child import child_main
from genstudio.jobs.model import CANCELLED, DONE, FAILED, Job, tail_lines
from genstudio.jobs.queue import JobQueue
from genstudio.jobs.runners import runner_spec

FLUSH_INTERVAL = 0.5  # seconds between progress writes to the database (the first and last are immediate)
DEFAULT_GRACE = 10.0  # seconds a stopping job gets to finish cooperatively before it is terminated
KILL_AFTER = 5.0  # seconds after terminate before kill


def describe_exit(exitcode: int | None) -> str:
    """'exit code 3' or 'killed by signal SIGKILL (...)' for a process's exit code."""
    if exitcode is None:
        return "no exit code"
    if exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    hint = {"SIGKILL": " (out of memory, or killed)", "SIGSEGV": " (a crash in native code)"}.get(name, "")
    return f"killed by signal {name}{hint}"


class Execution:
    """One job's run in a child process, driven by a worker."""

    def __init__(self, queue: JobQueue, job: Job, *, grace: float = DEFAULT_GRACE, logs_dir: Path | None = None):
        self.queue = queue
        self.job = job
        self.grace = grace
        self.logs_dir = logs_dir or queue.path.parent / "job-logs"
        self.process: Any = None
        self.conn: Any = None
        self.cancel: Any = None
        self.log_path = self.logs_dir / f"job-{job.id}.log"
        self.finished = False
        self.stop_reason: str | None = None  # CANCELLED or INTERRUPTED once a stop was asked for
        self._stop_at = 0.0
        self._terminated_at = 0.0
        self._outcome: tuple[str, Any] | None = None
        self._progress: dict[str, Any] = {}
        self._dirty = False
        self._last_flush = 0.0
        self._log_offset = 0
        self._log_tail = ""

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Spawn the child; a kind without a runner (or not registered here) fails at once, without a process."""
        try:
            spec = runner_spec(self.job.kind)
            if spec.target is None:
                raise UserError(f"job kind {self.job.kind!r} has no runner in this genstudio version yet")
        except UserError as exc:
            self._finish(FAILED, error=str(exc))
            return
        params = dict(self.job.params)
        if self.job.resume and spec.resumable:
            params["resume"] = True
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as log:
            self._log_offset = log.tell()
            log.write(f"--- job {self.job.id} ({self.job.kind}), attempt {self.job.attempts}, "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}{', resuming' if params.get('resume') else ''}\n")
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe(duplex=False)
        self.cancel = context.Event()
        self.process = context.Process(target=child_main, name=f"genstudio-job-{self.job.id}",
                                       args=(spec.target, params, child_conn, self.cancel, str(self.log_path)))
        self.process.start()
        child_conn.close()
        self.queue.report(self.job.id, child_pid=self.process.pid, log_path=str(self.log_path))

    # ------------------------------------------------------------------ driving

    def wait_handles(self) -> list[Any]:
        """Objects for multiprocessing.connection.wait: ready when there is something for `poll` to do."""
        if self.finished or self.process is None:
            return []
        return [self.conn, self.process.sentinel]

    def request_stop(self, reason: str = CANCELLED) -> None:
        """Ask the child to stop (its abort check turns True); terminate it after the grace period."""
        if self.finished or self.stop_reason is not None:
            return
        self.stop_reason = reason
        self._stop_at = time.monotonic()
        if self.cancel is not None:
            self.cancel.set()

    def poll(self) -> bool:
        """Do what is due without blocking; True once the job has finished and its outcome is recorded."""
        if self.finished:
            return True
        self._drain()
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL:
            if self.stop_reason is None and self.queue.cancel_requested(self.job.id):
                self.request_stop(CANCELLED)
            self._flush(now)
        self._enforce_grace(now)
        if not self.process.is_alive():
            self.process.join()
            self._drain()
            self._finalize()
        return self.finished

    def _drain(self) -> None:
        try:
            while self.conn.poll():
                kind, payload = self.conn.recv()
                if kind == "event":
                    self._on_event(payload)
                else:
                    self._outcome = (kind, payload)
        except (EOFError, OSError):
            pass  # the child closed its end (it finished or died)

    def _on_event(self, event: dict[str, Any]) -> None:
        self._progress = {"task": event.get("task", ""), "done": event.get("done", 0.0), "total": event.get("total"),
                          "stats": event.get("stats") or {}}
        self._dirty = True
        if event.get("kind") == "begin" and self._last_flush == 0.0:
            self._flush(time.monotonic())  # show that it started at once

    def _read_log(self) -> bool:
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as log:
                log.seek(self._log_offset)
                text = log.read()
                self._log_offset = log.tell()
        except OSError:
            return False
        if text:
            self._log_tail = tail_lines(self._log_tail + text)
        return bool(text)

    def _flush(self, now: float) -> None:
        self._last_flush = now
        changed_log = self._read_log()
        if not (self._dirty or changed_log):
            return
        self._dirty = False
        self.queue.report(self.job.id, log_tail=self._log_tail, **self._progress)

    def _enforce_grace(self, now: float) -> None:
        if self.stop_reason is None or not self.process.is_alive():
            return
        if not self._terminated_at and now - self._stop_at >= self.grace:
            self._terminated_at = now
            self.process.terminate()
        elif self._terminated_at and now - self._terminated_at >= KILL_AFTER:
            self.process.kill()

    # ------------------------------------------------------------------ outcome

    def _finalize(self) -> None:
        kind, payload = self._outcome or (None, None)
        stopped = self.stop_reason or CANCELLED
        if kind == "result":
            status = stopped if isinstance(payload, dict) and payload.get("cancelled") else DONE
            self._finish(status, result=payload)
        elif kind == "cancelled":
            self._finish(stopped, error=f"{stopped} before it finished")
        elif kind == "error":
            self._finish(FAILED, error=payload)
        elif self.stop_reason is not None:
            self._finish(self.stop_reason, error=f"{self.stop_reason}: stopped after a {self.grace:g}s grace period "
                                                 f"({describe_exit(self.process.exitcode)})")
        else:
            self._finish(FAILED, error=f"the job's process died: {describe_exit(self.process.exitcode)}")

    def _finish(self, status: str, *, result: dict | None = None, error: str | None = None) -> None:
        self.finished = True
        fields: dict[str, Any] = dict(self._progress)
        if self.process is not None:
            self._read_log()
            fields["log_tail"] = self._log_tail
            self.conn.close()
        self.queue.finish(self.job.id, status, result=result, error=error, **fields)
        self.job = self.queue.get(self.job.id)
