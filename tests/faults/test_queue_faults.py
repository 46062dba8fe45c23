"""Issue 20, item 7: a damaged job queue costs the damaged part only.

A queue file that is not a database, truncated, or missing a table is moved aside as
`<name>.corrupt-<YYYYmmdd-HHMMSS>` (with its -wal) and a fresh queue starts, said in one line; a file that is
merely locked is never moved; a row with unreadable JSON reads as a failed job and never stops list, show or the
worker. Every queue is built in tmp_path (or the per-test GENSTUDIO_HOME).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading

import pytest
from typer.testing import CliRunner

from genstudio.cli import app
from genstudio.errors import UserError
from genstudio.jobs import JobQueue, Worker, db

JOB = {"requirement": "genstudio-extra"}  # plugin-install: a kind that needs no files


def _filled(path, count: int = 40) -> JobQueue:
    queue = JobQueue(path)
    for number in range(count):
        queue.add("plugin-install", {"requirement": f"genstudio-extra-{number}", "padding": "x" * 300})
    return queue


def _checkpoint(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _aside(path) -> list:
    """The moved-aside queue files beside `path` (their -wal/-shm companions not counted)."""
    return sorted(p for p in path.parent.iterdir()
                  if p.name.startswith(path.name + ".corrupt-") and not p.name.endswith(("-wal", "-shm")))


def _cli(*args: str):
    return CliRunner().invoke(app, ["jobs", *args], env={"COLUMNS": "200"})


def test_case_7_random_bytes_queue(isolated_home):
    path = db.default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    garbage = os.urandom(8192)
    path.write_bytes(garbage)

    result = _cli("list")
    assert result.exit_code == 0, result.output
    assert "was damaged (file is not a database); moved it aside to jobs.sqlite3.corrupt-" in result.output
    (aside,) = _aside(path)
    assert aside.read_bytes() == garbage  # nothing lost: the bad file is kept, byte for byte
    assert _cli("add", "plugin-install", "-p", "requirement=genstudio-extra").exit_code == 0  # a fresh queue works
    again = _cli("list")
    assert "genstudio-extra" in again.output and "damaged" not in again.output  # said once, not on every command
    assert len(_aside(path)) == 1


def test_case_7_truncated_queue(tmp_path):
    original = tmp_path / "original" / "jobs.sqlite3"
    queue = _filled(original)
    _checkpoint(original)
    holder = sqlite3.connect(original)  # while a connection is open, the last write stays in the -wal
    holder.execute("SELECT COUNT(*) FROM jobs").fetchone()
    queue.add("plugin-install", JOB)
    path = tmp_path / "jobs.sqlite3"  # a copy taken now is the file as a crash would leave it: main file and -wal
    for suffix in ("", "-wal"):
        path.with_name(path.name + suffix).write_bytes(original.with_name(original.name + suffix).read_bytes())
    holder.close()
    assert path.with_name(path.name + "-wal").stat().st_size > 0
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)

    events = []
    fresh = JobQueue(path, events=events.append)
    assert fresh.notice and "\n" not in fresh.notice
    assert re.search(r"was damaged \((database disk image is malformed|integrity check failed: .+)\)", fresh.notice)
    assert [event.level for event in events] == ["warning"] and events[0].message == fresh.notice
    (aside,) = _aside(path)
    assert fresh.notice.endswith(f"moved it aside to {aside.name} and started a fresh queue")
    assert aside.name.startswith("jobs.sqlite3.corrupt-") and len(aside.name) == len("jobs.sqlite3.corrupt-") + 15
    moved_wal = aside.with_name(aside.name + "-wal")
    assert moved_wal.is_file() and moved_wal.stat().st_size > 0  # its -wal went with it, not replayed into the new
    assert fresh.list() == []
    assert fresh.get(fresh.add("plugin-install", JOB)).status == "queued"


@pytest.mark.parametrize("table", ["jobs", "meta"])
def test_case_7_dropped_table_queue(tmp_path, table):
    path = tmp_path / "jobs.sqlite3"
    _filled(path, 3)
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {table}")
    conn.close()

    fresh = JobQueue(path)
    assert fresh.notice and f"its {table} table is missing" in fresh.notice
    assert len(_aside(path)) == 1
    assert fresh.list() == [] and not fresh.paused


def test_case_7_damaged_while_in_use(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    queue = _filled(path, 3)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.write_bytes(os.urandom(4096))

    with pytest.raises(UserError, match=r"was damaged .*moved it aside .*; try again$"):
        queue.list()
    assert queue.list() == []  # the next call reads the fresh queue
    assert len(_aside(path)) == 1


def test_case_7_bad_json_row(isolated_home):
    queue = JobQueue()  # the default queue, which the CLI opens too
    path = queue.path
    first, bad, done, last = (queue.add("plugin-install", {"requirement": f"pkg{n}"}) for n in range(4))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE jobs SET params = '{not json' WHERE id = ?", (bad,))
    conn.execute("UPDATE jobs SET status = 'done', result = '[1, 2' WHERE id = ?", (done,))
    conn.commit()
    conn.close()

    jobs = {job.id: job for job in queue.list()}
    assert list(jobs) == [first, bad, done, last]  # listing shows the others
    assert jobs[first].params == {"requirement": "pkg0"} and jobs[last].status == "queued"
    assert jobs[bad].status == "failed" and jobs[bad].error.startswith("unreadable parameters: ")
    assert jobs[done].status == "failed" and jobs[done].error.startswith("unreadable result: ")
    assert json.loads(json.dumps([job.to_dict() for job in jobs.values()]))  # --json still works

    listing = _cli("list")
    assert listing.exit_code == 0, listing.output
    assert "pkg0" in listing.output and "pkg3" in listing.output and "failed" in listing.output
    shown = _cli("show", str(bad))
    assert shown.exit_code == 0 and "unreadable parameters" in shown.output

    claimed = queue.claim_next()  # the worker takes the good ones; the bad one fails for good, once
    assert claimed.id == first
    assert queue.claim_next().id == last and queue.claim_next() is None
    conn = sqlite3.connect(path)
    status, error = conn.execute("SELECT status, error FROM jobs WHERE id = ?", (bad,)).fetchone()
    conn.close()
    assert status == "failed" and error.startswith("unreadable parameters")
    assert _aside(path) == []  # a bad row never moves the whole queue


def test_case_7_worker_survives_bad_row(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    queue = JobQueue(path)
    bad = queue.add("plugin-install", JOB)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE jobs SET params = '\"a string\"' WHERE id = ?", (bad,))
    conn.commit()
    conn.close()
    Worker(queue, poll_interval=0.05, logs_dir=tmp_path / "logs").run(once=True)  # returns; nothing crashes
    job = queue.get(bad)
    assert job.status == "failed" and job.error == "unreadable parameters: not a JSON object"


def test_case_7_locked_queue_is_not_moved(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "jobs.sqlite3"
    _filled(path, 3)
    holder = sqlite3.connect(path, isolation_level=None)  # another process holding the file exclusively
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(UserError, match="busy|locked"):
            JobQueue(path)
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert _aside(path) == []
    again = JobQueue(path)
    assert again.notice is None and len(again.list()) == 3


def test_case_7_concurrent_openers_repair_once(tmp_path):
    """The app and the worker open the same damaged file at once: it is moved aside once, not the fresh one too."""
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(os.urandom(4096))
    queues: list[JobQueue] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_queue() -> None:
        start.wait()
        try:
            queues.append(JobQueue(path))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_queue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    assert len(_aside(path)) == 1
    assert sum(1 for queue in queues if queue.notice) == 1
    job_id = queues[0].add("plugin-install", JOB)
    assert all(queue.get(job_id).status == "queued" for queue in queues)


def test_case_7_hot_journal_is_not_damage(tmp_path):
    """A writer that died mid-transaction leaves a journal only a read-write open can roll back: not damage.

    (What an opener also met, before the check was made under the repair lock, while another opener created
    the fresh file: the read-only look failed with "attempt to write a readonly database".)
    """
    original = tmp_path / "original" / "jobs.sqlite3"
    _filled(original, 5)
    conn = sqlite3.connect(original, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA cache_size = 1")  # spill: the half-done write reaches the file, its undo the -journal
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE jobs SET params = '{}', log_tail = ?", ("y" * 4000,))
    path = tmp_path / "jobs.sqlite3"  # copied now: the file and its hot -journal as a crash would leave them
    for suffix in ("", "-journal"):
        path.with_name(path.name + suffix).write_bytes(original.with_name(original.name + suffix).read_bytes())
    conn.execute("ROLLBACK")
    conn.close()

    queue = JobQueue(path)
    assert queue.notice is None and _aside(path) == []
    assert [job.params["requirement"] for job in queue.list()] == [f"genstudio-extra-{n}" for n in range(5)]



def test_case_7_app_shows_the_notice(tmp_path, qtbot):
    pytest.importorskip("PySide6")
    from genstudio.gui.main_window import MainWindow
    from genstudio.plugins import get_registry

    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(os.urandom(4096))
    window = MainWindow(JobQueue(path), start_worker=False, registry=get_registry(refresh=True))
    qtbot.addWidget(window)
    assert window.queue.notice and window.statusBar().currentMessage() == window.queue.notice
    assert window.queue_model.rowCount() == 0
    window.close()
