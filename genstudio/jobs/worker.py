"""`Worker`: takes queued jobs in order and runs each in its own child process.

Used by `genstudio jobs worker` (blocking `run()`) and by the app (`start()` runs the same loop on a background
thread, `stop()` ends it; the GUI thread never waits on a job). Only one worker owns a queue at a time (see
genstudio.jobs.lock); on taking ownership it marks jobs left running by a vanished worker interrupted.

Scheduling: while the queue is not paused, start the next queued job (priority, then position) as long as fewer
than `max_jobs` run, and never more than `max_gpu_jobs` jobs that use the GPU. Light operations (installs and
uninstalls: `Operation.light` in genstudio.operations.registry) also get `max_light_jobs` slots of their own, taken
first: a plugin install queued behind a training run starts at once, beside it. Pausing lets running jobs finish.
Stopping the worker stops its running jobs cooperatively and marks them interrupted (retry resumes them).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path

from genstudio.errors import UserError
from genstudio.jobs.execution import DEFAULT_GRACE, FLUSH_INTERVAL, Execution
from genstudio.jobs.lock import WorkerLock
from genstudio.jobs.model import INTERRUPTED, Job
from genstudio.jobs.queue import JobQueue


class Worker:
    """Runs the jobs of `queue` (default: the user's queue)."""

    def __init__(
        self,
        queue: JobQueue | None = None,
        *,
        max_jobs: int = 1,  # jobs running at once
        max_gpu_jobs: int = 1,  # of which at most this many use the GPU
        max_light_jobs: int = 1,  # light jobs (Operation.light) that may run beside those, ahead of the queue order
        poll_interval: float = 1.0,  # seconds between looks at an idle queue
        grace: float = DEFAULT_GRACE,  # seconds a stopping job gets before it is terminated
        logs_dir: Path | None = None,  # where job logs go (default: job-logs/ beside the queue file)
        on_job: Callable[[Job], None] | None = None,  # called (on the worker's thread) as a job starts and ends
    ):
        if max_jobs < 1 or max_gpu_jobs < 0 or max_light_jobs < 0:
            raise UserError("a worker needs max_jobs >= 1, max_gpu_jobs >= 0 and max_light_jobs >= 0")
        self.queue = queue or JobQueue()
        self.max_jobs = max_jobs
        self.max_gpu_jobs = max_gpu_jobs
        self.max_light_jobs = max_light_jobs
        self.poll_interval = poll_interval
        self.grace = grace
        self.logs_dir = logs_dir
        self.on_job = on_job
        self.finished: list[Job] = []  # jobs this worker ran to an end, in order
        self.recovered: list[int] = []  # jobs it found stale and marked interrupted
        self._lock = WorkerLock(self.queue.path)
        self._running: dict[int, Execution] = {}
        self._light_slots: set[int] = set()  # running jobs that hold a light slot (not one of max_jobs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ ownership

    def _acquire(self) -> None:
        if not self._lock.acquire():
            holder = self._lock.holder()
            who = f" (pid {holder})" if holder else ""
            raise UserError(f"another worker{who} already runs the job queue {self.queue.path}")
        self.recovered = self.queue._interrupt_running(exclude_pid=None)

    @property
    def running_jobs(self) -> list[int]:
        """Ids of the jobs running now."""
        return list(self._running)

    # ------------------------------------------------------------------ the loop

    def run(self, *, once: bool = False) -> list[Job]:
        """Run jobs until `stop()` (or, with once=True, until nothing is queued or running); returns the finished.

        Raises UserError if another worker owns the queue.
        """
        if not self._lock.held:
            self._acquire()
        try:
            while True:
                reopened = self.queue.reopened
                try:
                    if self._stop.is_set():
                        for execution in self._running.values():
                            execution.request_stop(INTERRUPTED)
                        if not self._running:
                            break
                    else:
                        started = self._start_jobs()
                        if once and not self._running and not started:
                            break
                    self._step()
                except UserError:
                    if self.queue.reopened == reopened:
                        raise
                    # the queue file was damaged (moved aside: the queue's notice says so) or replaced under us,
                    # and the queue opened it again: serve that one; jobs already running finish
                    self._stop.wait(self.poll_interval)
        finally:
            for execution in self._running.values():  # only after an unexpected error: leave nothing behind
                execution.request_stop(INTERRUPTED)
                if execution.process is not None:
                    execution.process.kill()
            self._lock.release()
        return self.finished

    def _start_jobs(self) -> bool:
        """Start queued jobs while slots are free, light ones first in their own slots; True if any started."""
        started = False
        if self.queue.paused:
            return False
        light = light_kinds()
        while light and len(self._light_slots) < self.max_light_jobs and self._start_next(light, light_slot=True):
            started = True
        while len(self._running) - len(self._light_slots) < self.max_jobs and self._start_next(None):
            started = True
        return started

    def _start_next(self, kinds: tuple[str, ...] | None, light_slot: bool = False) -> bool:
        """Claim and start the next queued job (of `kinds`, if given); False when there is none to start."""
        if self.queue.paused:
            return False
        gpu_busy = sum(1 for execution in self._running.values() if execution.job.uses_gpu)
        job = self.queue.claim_next(allow_gpu=gpu_busy < self.max_gpu_jobs, worker_pid=os.getpid(), kinds=kinds)
        if job is None:
            return False
        execution = Execution(self.queue, job, grace=self.grace, logs_dir=self.logs_dir)
        execution.start()
        if execution.finished:
            self._ended(execution.job)
        else:
            self._notify(job)
            self._running[job.id] = execution
            if light_slot:
                self._light_slots.add(job.id)
        return True

    def _step(self) -> None:
        """Wait for something to happen (child output, a child's exit, the next flush, or the idle poll)."""
        handles = [handle for execution in self._running.values() for handle in execution.wait_handles()]
        if handles:
            wait(handles, timeout=FLUSH_INTERVAL / 2)
        else:
            self._stop.wait(self.poll_interval)
        for job_id, execution in list(self._running.items()):
            if execution.poll():
                del self._running[job_id]
                self._light_slots.discard(job_id)
                self._ended(execution.job)

    def _ended(self, job: Job) -> None:
        self.finished.append(job)
        self._notify(job)

    def _notify(self, job: Job) -> None:
        if self.on_job is not None:
            self.on_job(job)

    # ------------------------------------------------------------------ in-process use (the app)

    def start(self) -> None:
        """Run the loop on a background thread. Raises UserError at once if another worker owns the queue."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._acquire()
        self._thread = threading.Thread(target=self.run, name="genstudio-job-worker", daemon=True)
        self._thread.start()

    def stop(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; running jobs stop cooperatively and become interrupted (resumable by retry)."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called."""
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def light_kinds() -> tuple[str, ...]:
    """The job kinds declared light (Operation.light), plugin operations included."""
    from genstudio.jobs.runners import runner_specs

    return tuple(spec.kind for spec in runner_specs() if spec.light)
