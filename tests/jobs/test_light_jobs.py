"""Light jobs (installs, uninstalls: Operation.light) do not wait behind heavy ones: the worker runs them in slots
of their own, beside a running training job and ahead of queued ones."""

from __future__ import annotations

import pytest

from genstudio.jobs import Worker
from genstudio.jobs.runners import register_runner, runner_spec, unregister_runner
from genstudio.jobs.worker import light_kinds


@pytest.fixture(autouse=True)
def light_kind():
    register_runner("test-light", "job_kinds:count", light=True)
    yield
    unregister_runner("test-light")


@pytest.fixture
def make_worker(queue):
    workers = []

    def make(**options):
        worker = Worker(queue, poll_interval=0.05, **options)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop(timeout=30)


def test_installs_are_declared_light_and_training_is_not():
    assert runner_spec("plugin-install").light and runner_spec("plugin-uninstall").light
    assert not runner_spec("train").light and not runner_spec("generate").light
    assert {"plugin-install", "plugin-uninstall", "test-light"} <= set(light_kinds())
    assert "train" not in light_kinds()


def test_a_light_job_runs_beside_a_heavy_one_and_ahead_of_the_queue(queue, make_worker, wait_until):
    heavy = queue.add("test-wait", {"timeout": 60})  # runs until cancelled, like a long training
    waiting = queue.add("test-count", {"steps": 1})  # heavy too: must wait for the slot
    light = queue.add("test-light", {"steps": 1})  # queued last
    worker = make_worker(max_jobs=1)
    worker.start()
    wait_until(lambda: queue.get(heavy).status == "running")
    done = wait_until(lambda: (job := queue.get(light)).status == "done" and job)
    assert queue.get(heavy).status == "running" and queue.get(waiting).status == "queued"
    assert done.started_at < done.finished_at and done.result["steps"] == 1
    queue.cancel(heavy)
    wait_until(lambda: queue.get(waiting).status == "done")


def test_without_light_slots_the_light_job_waits_its_turn(queue, make_worker, wait_until):
    import time

    heavy = queue.add("test-wait", {"timeout": 60})
    light = queue.add("test-light", {"steps": 1})
    worker = make_worker(max_jobs=1, max_light_jobs=0)
    worker.start()
    wait_until(lambda: queue.get(heavy).status == "running")
    time.sleep(1.0)  # a light slot would have run it by now (it takes well under a second)
    assert queue.get(light).status == "queued"
    queue.cancel(heavy)
    wait_until(lambda: queue.get(light).status == "done")


def test_claiming_by_kind(queue):
    first = queue.add("test-count", {"steps": 1})
    light = queue.add("test-light", {"steps": 1})
    assert queue.claim_next(kinds=()) is None
    assert queue.claim_next(kinds=("test-light",)).id == light
    assert queue.claim_next(kinds=("test-light",)) is None
    assert queue.claim_next().id == first
