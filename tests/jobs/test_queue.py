"""JobQueue without running anything: persistence, ordering, state changes, schema, recovery, headless import."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from genstudio.errors import UserError
from genstudio.jobs import JobQueue, Worker, db
from genstudio.jobs.lock import WorkerLock


def test_jobs_and_pause_survive_reopening(queue):
    first = queue.add("test-count", {"steps": 4, "label": "été"}, priority=2)
    second = queue.add("plugin-install", {"requirement": "genstudio-foo>=1"})
    queue.pause()
    again = JobQueue(queue.path)
    assert [job.id for job in again.list()] == [first, second]
    job = again.get(first)
    assert (job.kind, job.params, job.status, job.priority) == ("test-count", {"steps": 4, "label": "été"},
                                                               "queued", 2)
    assert again.paused
    again.resume()
    assert not JobQueue(queue.path).paused


def test_default_queue_lives_in_the_data_dir(isolated_home):
    assert JobQueue().path == isolated_home / "data" / "jobs.sqlite3"


def test_schema_is_versioned_and_uses_wal(queue):
    conn = sqlite3.connect(queue.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserError, match="newer genstudio"):
        JobQueue(queue.path)


def test_add_checks_kind_and_params_and_makes_paths_absolute(queue, tmp_path, monkeypatch):
    with pytest.raises(UserError, match="unknown job kind 'nope'"):
        queue.add("nope")
    with pytest.raises(UserError, match="needs the parameter.*backend, data, out"):
        queue.add("train", {"steps": 2})
    monkeypatch.chdir(tmp_path)
    job = queue.get(queue.add("train", {"backend": "dcgan", "data": "shapes", "out": "model", "device": "cpu"}))
    assert job.params["data"] == str(tmp_path / "shapes") and job.params["out"] == str(tmp_path / "model")
    assert not job.uses_gpu  # device=cpu
    assert queue.get(queue.add("train", {"backend": "dcgan", "data": "a", "out": "b"})).uses_gpu
    assert queue.get(queue.add("eval", {"model": "m", "data": "d"})).status == "queued"


def test_workers_take_jobs_by_priority_then_position(queue):
    low = queue.add("test-count")
    high = queue.add("test-count", priority=5)
    low2 = queue.add("test-count")
    gpu = queue.add("test-count", priority=9, uses_gpu=True)
    assert [job.id for job in queue.pending()] == [gpu, high, low, low2]
    assert queue.claim_next(allow_gpu=False).id == high  # a GPU job is running elsewhere: skip the GPU job
    assert queue.claim_next().id == gpu
    claimed = queue.get(gpu)
    assert claimed.status == "running" and claimed.attempts == 1 and claimed.started_at
    assert [queue.claim_next().id, queue.claim_next().id, queue.claim_next()] == [low, low2, None]


def test_move_reorders_and_adopts_priority(queue):
    a, b, c = (queue.add("test-count") for _ in range(3))
    urgent = queue.add("test-count", priority=3)
    queue.move(c, 2)
    assert [job.id for job in queue.pending()] == [urgent, c, a, b]
    moved = queue.move(b, 1)  # above a priority-3 job: takes priority 3 so it really runs first
    assert moved.priority == 3 and [job.id for job in queue.pending()] == [b, urgent, c, a]
    queue.move(a, priority=10)
    assert queue.pending()[0].id == a
    with pytest.raises(UserError, match="start at 1"):
        queue.move(a, 0)
    queue.claim_next()
    with pytest.raises(UserError, match="only queued or paused"):
        queue.move(a, 2)


def test_cancel_retry_hold_and_remove(queue):
    job_id = queue.add("test-count")
    held = queue.hold(job_id)
    assert held.status == "paused" and queue.claim_next() is None  # held jobs are skipped
    assert queue.release(job_id).status == "queued"
    assert queue.cancel(job_id).status == "cancelled"
    with pytest.raises(UserError, match="only queued, paused or running"):
        queue.cancel(job_id)
    retried = queue.retry(job_id)
    assert retried.status == "queued" and not retried.resume  # it never started: nothing to resume
    running = queue.claim_next()
    assert queue.cancel(job_id).cancel_requested and queue.get(job_id).status == "running"  # the worker relays
    with pytest.raises(UserError, match="running; cancel it first"):
        queue.remove(job_id)
    queue.finish(running.id, "done", result={"ok": 1})
    with pytest.raises(UserError, match="add it again"):
        queue.retry(job_id)
    before = queue.last_change()
    queue.remove(job_id)
    assert queue.list() == [] and queue.last_change() >= before
    with pytest.raises(UserError, match="no job with id"):
        queue.get(job_id)


def test_recover_marks_running_jobs_of_a_vanished_worker_interrupted(queue):
    job_id = queue.add("test-count")
    queue.claim_next(worker_pid=999999)  # a worker that crashed mid-job
    waiting = queue.add("test-count")
    lock = WorkerLock(queue.path)
    assert lock.acquire()
    try:
        assert queue.recover() == []  # a live worker owns the queue: its jobs really run
        assert Worker(queue).queue.get(job_id).status == "running"
        with pytest.raises(UserError, match="another worker"):
            Worker(queue).run(once=True)
    finally:
        lock.release()
    assert queue.recover() == [job_id]
    stale = queue.get(job_id)
    assert stale.status == "interrupted" and "retry" in stale.error
    assert queue.get(waiting).status == "queued"  # queued jobs stay queued
    assert queue.retry(job_id).resume  # it had started: a resumable kind continues its work


def test_core_imports_without_qt():
    code = ("import sys, genstudio.jobs, genstudio.jobs.builtin, genstudio.jobs.child, genstudio.cli.jobs; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'torch'))]; "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
