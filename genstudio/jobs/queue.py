"""`JobQueue`: the persistent queue in SQLite, shared by the CLI, the app and the worker (several processes).

The app and the CLI add, list, cancel, retry, reorder and pause; a `Worker` claims and runs jobs and writes
their progress here (throttled), so any process sees it by polling `list()` / `get()` (`last_change()` tells a
poller cheaply whether anything moved). Every method opens its own short connection, so one `JobQueue` may be
used from several threads. Errors a user can cause (an unknown id, cancelling a finished job) are `UserError`s.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.jobs import db
from genstudio.jobs.model import (
    DONE,
    FINISHED,
    INTERRUPTED,
    PAUSED,
    QUEUED,
    RETRYABLE,
    RUNNING,
    STATUSES,
    WAITING,
    Job,
)
from genstudio.jobs.runners import runner_spec

_RUN_ORDER = "priority DESC, position, id"


class JobQueue:
    """The queue at `path` (default: data_dir()/jobs.sqlite3), created or migrated on open."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else db.default_path()
        db.migrate(self.path)

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = db.connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its start (BEGIN IMMEDIATE)."""
        conn = db.connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    @staticmethod
    def _fetch(conn: sqlite3.Connection, job_id: int) -> Job:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UserError(f"no job with id {job_id}")
        return Job.from_row(row)

    @staticmethod
    def _touch(conn: sqlite3.Connection) -> None:
        """Record that something changed (for `last_change`), also for deletions."""
        conn.execute("INSERT OR REPLACE INTO meta (key, value, updated_at) VALUES ('changed', '', ?)", (time.time(),))

    # ------------------------------------------------------------------ reading

    def get(self, job_id: int) -> Job:
        """The job with this id; UserError if there is none."""
        with self._read() as conn:
            return self._fetch(conn, job_id)

    def list(self, statuses: tuple[str, ...] | list[str] | None = None, kind: str | None = None) -> list[Job]:
        """Jobs in the order they were added, optionally only those with one of `statuses` and/or of `kind`."""
        query, args = "SELECT * FROM jobs WHERE 1", []
        if statuses:
            unknown = set(statuses) - set(STATUSES)
            if unknown:
                raise UserError(f"unknown job status {sorted(unknown)[0]!r}; statuses: {', '.join(STATUSES)}")
            query += f" AND status IN ({','.join('?' * len(statuses))})"
            args += list(statuses)
        if kind:
            query += " AND kind = ?"
            args.append(kind)
        with self._read() as conn:
            return [Job.from_row(row) for row in conn.execute(query + " ORDER BY id", args)]

    def pending(self) -> list[Job]:
        """Queued and held (paused) jobs in the order a worker would take them."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM jobs WHERE status IN (?, ?) ORDER BY {_RUN_ORDER}", WAITING)
            return [Job.from_row(row) for row in rows]

    def last_change(self) -> float:
        """The time of the latest write to the queue: poll this and re-read only when it moves."""
        with self._read() as conn:
            jobs = conn.execute("SELECT MAX(updated_at) FROM jobs").fetchone()[0] or 0.0
            meta = conn.execute("SELECT MAX(updated_at) FROM meta").fetchone()[0] or 0.0
        return max(jobs, meta)

    # ------------------------------------------------------------------ changing jobs

    def add(self, kind: str, params: dict[str, Any] | None = None, *, priority: int = 0,
            uses_gpu: bool | None = None) -> int:
        """Queue a job of `kind` (checked against the runner registry); returns its id.

        `uses_gpu=None` takes the kind's default (train and generate do, unless params say device="cpu").
        """
        spec = runner_spec(kind)
        params = spec.prepare(dict(params or {}))
        try:
            encoded = json.dumps(params)
        except (TypeError, ValueError) as exc:
            raise UserError(f"job parameters must be JSON values: {exc}") from exc
        gpu = spec.default_uses_gpu(params) if uses_gpu is None else uses_gpu
        now = time.time()
        with self._write() as conn:
            position = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM jobs").fetchone()[0]
            cursor = conn.execute(
                "INSERT INTO jobs (kind, params, status, priority, position, uses_gpu, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (kind, encoded, QUEUED, priority, position, int(gpu), now, now))
            return int(cursor.lastrowid)

    def cancel(self, job_id: int) -> Job:
        """Cancel: a waiting job at once; a running one is asked to stop (its worker relays the request)."""
        with self._write() as conn:
            job = self._fetch(conn, job_id)
            now = time.time()
            if job.status in WAITING:
                conn.execute("UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ?",
                             (now, now, job_id))
            elif job.status == RUNNING:
                conn.execute("UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?", (now, job_id))
            else:
                raise UserError(f"job {job_id} is {job.status}; only queued, paused or running jobs can be cancelled")
            return self._fetch(conn, job_id)

    def retry(self, job_id: int) -> Job:
        """Queue a failed, cancelled or interrupted job again, at the end of its priority.

        If it had started, a resumable kind continues its earlier work (training resumes from its last checkpoint).
        """
        with self._write() as conn:
            job = self._fetch(conn, job_id)
            if job.status not in RETRYABLE:
                hint = "; add it again to repeat it" if job.status == DONE else ""
                raise UserError(f"job {job_id} is {job.status}; only failed, cancelled or interrupted jobs can be "
                                f"retried{hint}")
            resume = job.attempts > 0 and self._resumable(job.kind)
            position = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM jobs").fetchone()[0]
            conn.execute(
                "UPDATE jobs SET status = 'queued', position = ?, resume = ?, error = NULL, cancel_requested = 0, "
                "finished_at = NULL, updated_at = ? WHERE id = ?", (position, int(resume), time.time(), job_id))
            return self._fetch(conn, job_id)

    @staticmethod
    def _resumable(kind: str) -> bool:
        try:
            return runner_spec(kind).resumable
        except UserError:
            return False

    def hold(self, job_id: int) -> Job:
        """Hold a queued job back (status paused): workers skip it until `release`."""
        return self._switch(job_id, QUEUED, PAUSED)

    def release(self, job_id: int) -> Job:
        """Let a held job run again (status queued)."""
        return self._switch(job_id, PAUSED, QUEUED)

    def _switch(self, job_id: int, before: str, after: str) -> Job:
        with self._write() as conn:
            job = self._fetch(conn, job_id)
            if job.status != before:
                raise UserError(f"job {job_id} is {job.status}, not {before}")
            conn.execute("UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?", (after, time.time(), job_id))
            return self._fetch(conn, job_id)

    def move(self, job_id: int, to: int | None = None, *, priority: int | None = None) -> Job:
        """Reorder a waiting job: set its `priority`, and/or move it to place `to` (1 = next to run).

        Priority outranks position, so moving past a job of another priority adopts a priority that keeps the
        job where it was put.
        """
        with self._write() as conn:
            job = self._fetch(conn, job_id)
            if job.status not in WAITING:
                raise UserError(f"job {job_id} is {job.status}; only queued or paused jobs can be reordered")
            if priority is not None:
                job.priority = priority
            rows = conn.execute(f"SELECT id, priority FROM jobs WHERE status IN (?, ?) AND id != ? "
                                f"ORDER BY {_RUN_ORDER}", (*WAITING, job_id)).fetchall()
            order = [(row["id"], row["priority"]) for row in rows]
            if to is None:  # keep its place among its (possibly new) priority: last of that priority
                index = sum(1 for _, prio in order if prio >= job.priority)
            else:
                if to < 1:
                    raise UserError(f"positions start at 1, got {to}")
                index = min(to - 1, len(order))
                above = order[index - 1][1] if index > 0 else None
                below = order[index][1] if index < len(order) else None
                if above is not None and job.priority > above:
                    job.priority = above
                if below is not None and job.priority < below:
                    job.priority = below
            order.insert(index, (job_id, job.priority))
            now = time.time()
            conn.execute("UPDATE jobs SET priority = ? WHERE id = ?", (job.priority, job_id))
            for place, (other_id, _) in enumerate(order, start=1):
                conn.execute("UPDATE jobs SET position = ?, updated_at = ? WHERE id = ?", (place, now, other_id))
            return self._fetch(conn, job_id)

    def remove(self, job_id: int) -> None:
        """Delete a job that is not running."""
        with self._write() as conn:
            job = self._fetch(conn, job_id)
            if job.status == RUNNING:
                raise UserError(f"job {job_id} is running; cancel it first")
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            self._touch(conn)

    def clear_finished(self) -> int:
        """Delete every finished job (done, failed, cancelled, interrupted); returns how many."""
        with self._write() as conn:
            count = conn.execute(f"DELETE FROM jobs WHERE status IN ({','.join('?' * len(FINISHED))})",
                                 FINISHED).rowcount
            self._touch(conn)
            return count

    # ------------------------------------------------------------------ the queue as a whole

    @property
    def paused(self) -> bool:
        """Whether the queue is paused: running jobs finish, no new job starts. Persisted."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'paused'").fetchone()
        return bool(row and row["value"] == "1")

    def pause(self) -> None:
        self._set_meta("paused", "1")

    def resume(self) -> None:
        self._set_meta("paused", "0")

    def _set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value, updated_at) VALUES (?, ?, ?)",
                         (key, value, time.time()))

    def worker_pid(self) -> int | None:
        """The pid of the worker that owns this queue now (0 if unknown), or None when no worker runs."""
        from genstudio.jobs.lock import WorkerLock

        return WorkerLock(self.path).holder()

    def recover(self) -> list[int]:
        """Mark jobs left `running` by a vanished worker as interrupted; returns their ids.

        Does nothing while a live worker holds the queue's lock (its jobs really are running).
        """
        if self.worker_pid() is not None:
            return []
        return self._interrupt_running(exclude_pid=None)

    def _interrupt_running(self, exclude_pid: int | None) -> list[int]:
        """Mark running jobs not run by `exclude_pid` interrupted (the caller knows their worker is gone)."""
        with self._write() as conn:
            rows = conn.execute("SELECT id, worker_pid FROM jobs WHERE status = 'running'").fetchall()
            stale = [row["id"] for row in rows if exclude_pid is None or row["worker_pid"] != exclude_pid]
            now = time.time()
            for job_id in stale:
                conn.execute(
                    "UPDATE jobs SET status = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                    (INTERRUPTED, "interrupted: its worker stopped while it ran; retry to resume it", now, now,
                     job_id))
            return stale

    # ------------------------------------------------------------------ for the worker

    def claim_next(self, *, allow_gpu: bool = True, worker_pid: int | None = None) -> Job | None:
        """Atomically take the next queued job (priority, then position) and mark it running; None if none.

        With allow_gpu=False, jobs that use the GPU are skipped (another GPU job is running).
        """
        query = f"SELECT id FROM jobs WHERE status = 'queued' {'' if allow_gpu else 'AND uses_gpu = 0'} " \
                f"ORDER BY {_RUN_ORDER} LIMIT 1"
        with self._read() as conn:  # an idle worker polls: look before taking the write lock
            if conn.execute(query).fetchone() is None:
                return None
        with self._write() as conn:
            row = conn.execute(query).fetchone()
            if row is None:
                return None
            now = time.time()
            conn.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, finished_at = NULL, updated_at = ?, "
                "worker_pid = ?, child_pid = NULL, attempts = attempts + 1, cancel_requested = 0, error = NULL, "
                "result = NULL, task = NULL, done = 0, total = NULL, stats = '{}' WHERE id = ?",
                (now, now, worker_pid if worker_pid is not None else os.getpid(), row["id"]))
            return self._fetch(conn, row["id"])

    def report(self, job_id: int, **fields: Any) -> None:
        """Write progress fields of a running job: task, done, total, stats, log_tail, child_pid, log_path."""
        allowed = {"task", "done", "total", "stats", "log_tail", "child_pid", "log_path"}
        if not fields:
            return
        if set(fields) - allowed:
            raise ValueError(f"cannot report {sorted(set(fields) - allowed)}")
        values = [json.dumps(value) if name == "stats" else value for name, value in fields.items()]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._write() as conn:
            conn.execute(f"UPDATE jobs SET {assignments}, updated_at = ? WHERE id = ?",
                         (*values, time.time(), job_id))

    def finish(self, job_id: int, status: str, *, result: dict[str, Any] | None = None, error: str | None = None,
               **fields: Any) -> None:
        """Record the outcome of a run (done, failed, cancelled or interrupted), with final progress `fields`."""
        if status not in FINISHED:
            raise ValueError(f"not a final status: {status}")
        self.report(job_id, **fields)
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ?, updated_at = ?, resume = 0 "
                "WHERE id = ?", (status, json.dumps(result, default=str) if result is not None else None, error,
                                 now, now, job_id))

    def cancel_requested(self, job_id: int) -> bool:
        with self._read() as conn:
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row["cancel_requested"])
