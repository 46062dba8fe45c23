"""The queue's SQLite file: connections (WAL, busy timeout) and the schema, versioned with PRAGMA user_version.

Several processes (the CLI, the app, the worker) open the same file at once. Every connection is short-lived
and in autocommit mode; writers that read-then-write use `BEGIN IMMEDIATE` so two processes never claim the
same job. To change the schema, append a step to MIGRATIONS; `migrate` applies the missing ones in order.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from genstudio import paths
from genstudio.errors import UserError

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another process's write to finish

MIGRATIONS: list[str] = [
    # 1: the jobs table and a key/value table for queue-wide state (the pause flag)
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        position INTEGER NOT NULL DEFAULT 0,
        uses_gpu INTEGER NOT NULL DEFAULT 0,
        task TEXT,
        done REAL NOT NULL DEFAULT 0,
        total REAL,
        stats TEXT NOT NULL DEFAULT '{}',
        log_tail TEXT NOT NULL DEFAULT '',
        result TEXT,
        error TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        updated_at REAL NOT NULL,
        worker_pid INTEGER,
        child_pid INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        resume INTEGER NOT NULL DEFAULT 0,
        log_path TEXT
    );
    CREATE INDEX jobs_by_order ON jobs (status, priority DESC, position, id);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    """Where the queue lives: data_dir()/jobs.sqlite3."""
    return paths.data_dir() / "jobs.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection with WAL, a busy timeout and rows addressable by column name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise UserError(f"cannot open the job queue {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a power cut may lose the last progress write
    return conn


def migrate(path: Path) -> None:
    """Create or upgrade the schema to SCHEMA_VERSION; refuse a file written by a newer genstudio."""
    conn = connect(path)
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UserError(f"the job queue {path} was written by a newer genstudio (schema {version}, this "
                                f"version knows {SCHEMA_VERSION}); upgrade genstudio or move the file away")
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        raise UserError(f"the job queue {path} cannot be used: {exc}") from exc
    finally:
        conn.close()
