"""`JobQueue`: the persistent queue in SQLite, shared by the CLI, the app and the worker (several processes).

The app and the CLI add, list, cancel, retry, reorder and pause; a `Worker` claims and runs jobs and writes
their progress here (throttled), so any process sees it by polling `list()` / `get()` (`last_change()` tells a
poller cheaply whether anything moved). Every method opens its own short connection, so one `JobQueue` may be
used from several threads. Errors a user can cause (an unknown id, cancelling a finished job) are `UserError`s.

A damaged queue file (not a database, truncated, a table missing) is found when the queue is opened (or when a
later read trips over it): it is moved aside as `<name>.corrupt-<YYYYmmdd-HHMMSS>` (with its -wal/-shm), a fresh
queue is started, and `notice` holds the one line that says so (also sent as a warning log event). A file that is
merely locked by another process is never moved. A row whose JSON cannot be read costs that row only: it reads
as a failed job whose error says what was unreadable, and a worker never runs it.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import Event, EventSink
from genstudio.jobs import db
from genstudio.jobs.model import (
    DONE,
    FAILED,
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
    """The queue at `path` (default: data_dir()/jobs.sqlite3), created or migrated on open.

    A damaged file is moved aside and a fresh queue started; `notice` then says so in one line, and `events`
    (an EventSink, e.g. the CLI's) gets it as a warning.
    """

    def __init__(self, path: str | Path | None = None, *, events: EventSink | None = None):
        self.path = Path(path) if path is not None else db.default_path()
        self.events = events
        self.notice: str | None = None  # one line when a damaged queue file was moved aside
        self.reopened = 0  # times a damaged or replaced file met while in use was repaired or opened again
        self._open()

    def _open(self) -> str | None:
        """Move a damaged file aside (saying so), then create or migrate; returns the notice of a repair.

        All of it holding the repair lock, the check too: an opener that looked without it could meet the fresh
        file while another opener (thread or process) is still creating it, mid-transaction, and take that for
        damage or fail on it (a read-only look cannot roll back the other's journal).
        """
        with _repair_lock(self.path):
            problem = _damage(self.path)
            notice = None
            if problem is not None:
                aside = _move_aside(self.path)
                notice = (f"the job queue {self.path} was damaged ({problem}); moved it aside to {aside.name} and "
                          "started a fresh queue")
            db.migrate(self.path)
        if notice is not None:
            self.notice = notice
            if self.events is not None:
                self.events(Event("log", "Opening the job queue", message=notice, level="warning"))
        return notice

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn a damaged or vanished file met while in use into a repair and one UserError line."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if not (_is_damage(exc) or _is_missing_schema(exc)):
                raise UserError(f"the job queue {self.path} cannot be used: {_one_line(exc)}") from exc
            notice = self._open()
            self.reopened += 1
            if notice is None:
                notice = f"the job queue {self.path} changed while in use ({_one_line(exc)}); it was opened again"
            raise UserError(f"{notice}; try again") from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._guard():
            conn = db.connect(self.path)
            try:
                yield conn
            finally:
                conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its start (BEGIN IMMEDIATE)."""
        with self._guard():
            conn = db.connect(self.path)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                conn.close()

    @staticmethod
    def _fetch(conn: sqlite3.Connection, job_id: int) -> Job:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UserError(f"no job with id {job_id}")
        return _job(row)

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
            return [_job(row) for row in conn.execute(query + " ORDER BY id", args)]

    def pending(self) -> list[Job]:
        """Queued and held (paused) jobs in the order a worker would take them."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM jobs WHERE status IN (?, ?) ORDER BY {_RUN_ORDER}", WAITING)
            return [_job(row) for row in rows]

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

    def claim_next(self, *, allow_gpu: bool = True, worker_pid: int | None = None,
                   kinds: tuple[str, ...] | list[str] | None = None) -> Job | None:
        """Atomically take the next queued job (priority, then position) and mark it running; None if none.

        With allow_gpu=False, jobs that use the GPU are skipped (another GPU job is running); with `kinds`, only
        jobs of those kinds are considered (the worker's slots for light jobs).
        """
        if kinds is not None and not kinds:
            return None
        only = f"AND kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
        args = tuple(kinds or ())
        query = f"SELECT * FROM jobs WHERE status = 'queued' {'' if allow_gpu else 'AND uses_gpu = 0'} {only} " \
                f"ORDER BY {_RUN_ORDER} LIMIT 1"
        with self._read() as conn:  # an idle worker polls: look before taking the write lock
            if conn.execute(query, args).fetchone() is None:
                return None
        with self._write() as conn:
            while True:
                row = conn.execute(query, args).fetchone()
                if row is None:
                    return None
                problem = _unreadable(row)
                if problem is None:
                    break
                now = time.time()  # a row that cannot be read fails, visibly; the next job runs
                conn.execute("UPDATE jobs SET status = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                             (FAILED, problem, now, now, row["id"]))
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


# ---------------------------------------------------------------------- rows that cannot be read

_JSON_COLUMNS = (("params", "parameters"), ("stats", "stats"), ("result", "result"))


def _unreadable(row: Any) -> str | None:
    """What in a jobs row cannot be read (its JSON columns must hold objects), or None when all of it can."""
    for column, name in _JSON_COLUMNS:
        text = row[column]
        if column == "result" and text is None:
            continue
        try:
            value = json.loads(text or "{}")
        except (TypeError, ValueError) as exc:
            return f"unreadable {name}: {_one_line(exc)}"
        if not isinstance(value, dict):
            return f"unreadable {name}: not a JSON object"
    return None


def _job(row: Any) -> Job:
    """The job in `row`; a row that cannot be read becomes a failed job whose error says why (it costs that row)."""
    problem = _unreadable(row)
    if problem is None:
        try:
            return Job.from_row(row)
        except (TypeError, ValueError, KeyError) as exc:
            problem = f"unreadable job: {_one_line(exc)}"
    data = dict(row)

    def number(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    return Job(id=data["id"], kind=str(data.get("kind") or "?"), params={}, status=FAILED, error=problem,
               created_at=number("created_at") or 0.0, started_at=number("started_at"),
               finished_at=number("finished_at"), updated_at=number("updated_at") or 0.0,
               attempts=int(number("attempts") or 0))


# ---------------------------------------------------------------------- a damaged queue file

_DAMAGE_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_BUSY_CODES = ("SQLITE_BUSY", "SQLITE_LOCKED")
# a read-only connection cannot finish what a writer left half done (a hot journal, a -wal to recover): not damage
_NEEDS_WRITER_CODES = ("SQLITE_READONLY_ROLLBACK", "SQLITE_READONLY_RECOVERY", "SQLITE_READONLY_CANTINIT")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _is_damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file itself is broken (not a database, malformed), as opposed to busy or unreadable."""
    name = getattr(exc, "sqlite_errorname", None)  # Python 3.11+
    if name is not None:
        return name.startswith(_DAMAGE_CODES)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _is_busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", None)
    if name is not None:
        return name.startswith(_BUSY_CODES)
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def _needs_writer(exc: sqlite3.Error) -> bool:
    """Whether a read-only look failed only because a writer must first roll back or recover what one left."""
    name = getattr(exc, "sqlite_errorname", None)
    if name is not None:
        return name.startswith(_NEEDS_WRITER_CODES)
    return "readonly database" in str(exc).lower()  # Python 3.10: the read-write open says if it is more than that


def _is_missing_schema(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and text.startswith(("no such table", "no such column"))


@functools.cache
def _expected_tables(version: int) -> dict[str, frozenset[str]]:
    """The tables and columns a queue file of schema `version` has (the migrations, applied in memory)."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in db.MIGRATIONS[:version]:
            conn.executescript(step)
        names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: frozenset(col[1] for col in conn.execute(f"PRAGMA table_info('{name}')")) for name in names}
    finally:
        conn.close()


def _damage(path: Path) -> str | None:
    """Why the file at `path` is a damaged queue, or None when it is usable (or missing: it will be created).

    Raises UserError, and moves nothing, when the file is busy (another process holds it locked) or cannot be
    opened at all (permissions, a folder): those are not damage. A newer genstudio's queue is left to migrate.
    """
    if not path.is_file():
        return None
    try:  # read-only: looking must not checkpoint the -wal into a damaged file, nor delete it
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)
    except sqlite3.Error:
        return None  # db.connect says why when the queue opens
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > db.SCHEMA_VERSION:
            return None
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            text = " ".join(" ".join(problems).replace("*** in database main ***", "").split())
            return f"integrity check failed: {text[:200]}"
        tables: dict[str, set[str]] = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            tables[name] = {col[1] for col in conn.execute(f"PRAGMA table_info('{name}')")}
        if version == 0:  # nothing of ours yet: fine when empty, else it is some other database
            return "not a genstudio job queue" if set(tables) - {"sqlite_sequence"} else None
        for name, columns in _expected_tables(version).items():
            if name not in tables:
                return f"its {name} table is missing"
            missing = sorted(columns - tables[name])
            if missing:
                return f"its {name} table lacks {', '.join(missing)}"
        return None
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            return _one_line(exc)
        if _needs_writer(exc):
            return None  # db.migrate's read-write connection rolls back or recovers it, then says if more is wrong
        if _is_busy(exc):
            raise UserError(f"the job queue {path} is busy (another process holds it locked); try again") from exc
        raise UserError(f"the job queue {path} cannot be used: {_one_line(exc)}") from exc
    finally:
        conn.close()


def _move_aside(path: Path) -> Path:
    """Rename the file to `<name>.corrupt-<YYYYmmdd-HHMMSS>` (its -wal and -shm beside it, first); returns that."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    count = 1
    while any(Path(str(aside) + suffix).exists() for suffix in ("", "-wal", "-shm")):
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{count}")
        count += 1
    for suffix in ("-wal", "-shm"):  # first: a stale -wal beside a fresh file would be replayed into it
        companion = Path(str(path) + suffix)
        if companion.exists():
            os.replace(companion, str(aside) + suffix)
    os.replace(path, aside)
    return aside


@contextmanager
def _repair_lock(path: Path) -> Iterator[None]:
    """One opener at a time, of all threads and processes, checks the queue file, moves it aside if damaged and
    creates or migrates it (`<name>.repair.lock`, an OS lock: the OS drops it when its holder dies)."""
    from genstudio.jobs.lock import _try_lock, _unlock

    lock_path = Path(str(path) + ".repair.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"cannot open the job queue {path}: {exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + db.BUSY_TIMEOUT_MS / 1000
        while not _try_lock(fd):
            if time.monotonic() > deadline:
                raise UserError(f"the job queue {path} is being opened or repaired by another process; try again")
            time.sleep(0.01)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
