"""Job tests: the test runners (job_kinds.py) are importable in spawned children, and registered as test kinds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

TEST_KINDS = {
    "test-count": "job_kinds:count",
    "test-crash": "job_kinds:crash",
    "test-fail": "job_kinds:fail",
    "test-wait": "job_kinds:wait_for_cancel",
}


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch):
    """Put job_kinds on sys.path (spawn hands sys.path to the child) and register the test kinds."""
    from genstudio.jobs import register_runner, unregister_runner

    monkeypatch.syspath_prepend(str(HERE))
    for kind, target in TEST_KINDS.items():
        register_runner(kind, target, resumable=kind == "test-count", uses_gpu=False)
    yield
    for kind in TEST_KINDS:
        unregister_runner(kind)


@pytest.fixture
def queue(tmp_path):
    from genstudio.jobs import JobQueue

    return JobQueue(tmp_path / "jobs.sqlite3")


@pytest.fixture
def wait_until():
    """wait_until(predicate, timeout): poll until `predicate()` is truthy (returned); fail after `timeout` s."""

    def wait(predicate, timeout: float = 30.0, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")

    return wait
