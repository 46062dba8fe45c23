"""The worker runs jobs in spawned child processes: progress into the database, crashes, cancel, pause, stop."""

from __future__ import annotations

import os
import time

import pytest

from genstudio.errors import UserError
from genstudio.jobs import Worker


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


def test_job_runs_in_a_child_and_streams_progress_into_the_db(queue, make_worker, wait_until):
    job_id = queue.add("test-count", {"steps": 30, "sleep": 0.05})
    seen = []
    worker = make_worker(on_job=lambda job: seen.append((job.id, job.status)))
    worker.start()
    running = wait_until(lambda: (job := queue.get(job_id)).status == "running" and 0 < job.done < 30 and job)
    assert running.task == "Counting" and running.total == 30 and running.child_pid != os.getpid()
    assert running.eta_seconds(time.time()) > 0 and queue.worker_pid() == os.getpid()
    assert "value" in running.stats and "step 1 of 30" in wait_until(lambda: queue.get(job_id).log_tail)
    done = wait_until(lambda: (job := queue.get(job_id)).status == "done" and job)
    assert done.result["steps"] == 30 and done.result["pid"] not in (os.getpid(), None)
    assert done.fraction == 1.0 and "step 30 of 30" in done.log_tail and done.finished_at >= done.started_at
    assert seen == [(job_id, "running"), (job_id, "done")]


@pytest.mark.parametrize("mode, expected", [("kill", "killed by signal SIGKILL"), ("segv", "SIGSEGV")])
def test_a_hard_crash_fails_its_job_and_the_worker_goes_on(queue, make_worker, mode, expected):
    crashed = queue.add("test-crash", {"mode": mode})
    after = queue.add("test-count", {"steps": 2})
    finished = make_worker().run(once=True)
    assert [(job.id, job.status) for job in finished] == [(crashed, "failed"), (after, "done")]
    job = queue.get(crashed)
    assert expected in job.error and "about to crash" in job.log_tail
    if mode == "segv":
        assert "Fatal Python error" in job.log_tail  # faulthandler's dump lands in the job's log


def test_errors_are_one_line_and_kinds_without_runner_fail_clearly(queue, make_worker):
    user = queue.add("test-fail", {"user": True})
    bug = queue.add("test-fail", {"user": False})
    exit_code = queue.add("test-crash", {"mode": "exit"})
    from genstudio.jobs import register_runner, unregister_runner

    register_runner("test-no-runner", None, description="queueable, not runnable")
    try:
        no_runner = queue.add("test-no-runner", {})
        make_worker().run(once=True)
    finally:
        unregister_runner("test-no-runner")
    assert queue.get(user).error == "the input folder is empty"
    assert queue.get(bug).error == "RuntimeError: a bug in a runner"
    assert "Traceback" in queue.get(bug).log_tail  # bugs keep their traceback, in the log
    assert queue.get(exit_code).error == "the job's process died: exit code 7"
    failed = queue.get(no_runner)
    assert failed.status == "failed" and "has no runner" in failed.error and failed.child_pid is None


def test_cancel_is_cooperative_then_forced(queue, make_worker, wait_until):
    polite = queue.add("test-wait")
    stubborn = queue.add("test-wait", {"stubborn": True})
    worker = make_worker(grace=0.5)
    worker.start()
    wait_until(lambda: queue.get(polite).done > 0)
    queue.cancel(polite)
    job = wait_until(lambda: (job := queue.get(polite)).status != "running" and job)
    assert job.status == "cancelled" and job.result["cancelled"]  # it stopped by itself, result kept
    wait_until(lambda: queue.get(stubborn).done > 0)
    queue.cancel(stubborn)
    job = wait_until(lambda: (job := queue.get(stubborn)).status != "running" and job, timeout=20)
    assert job.status == "cancelled" and "grace period" in job.error and "SIGTERM" in job.error


def test_pause_lets_the_running_job_finish_and_starts_no_new_one(queue, make_worker, wait_until):
    first = queue.add("test-count", {"steps": 10, "sleep": 0.05})
    second = queue.add("test-count")
    worker = make_worker()
    worker.start()
    wait_until(lambda: queue.get(first).status == "running")
    queue.pause()
    # the job writes "done" itself; the worker reaps its process a moment later
    wait_until(lambda: queue.get(first).status == "done" and worker.running_jobs == [])
    time.sleep(0.3)  # a paused worker would have started the next job by now
    assert queue.get(second).status == "queued" and worker.running_jobs == []
    queue.resume()
    wait_until(lambda: queue.get(second).status == "done")


def test_stopping_the_worker_interrupts_and_retry_resumes(queue, make_worker, wait_until):
    job_id = queue.add("test-count", {"steps": 400, "sleep": 0.05})
    worker = make_worker()
    worker.start()
    wait_until(lambda: queue.get(job_id).done > 0)
    with pytest.raises(UserError, match="another worker"):
        Worker(queue).start()  # one worker per queue
    worker.stop(timeout=30)
    job = queue.get(job_id)
    assert job.status == "interrupted" and 0 < job.done < 400
    assert queue.retry(job_id).resume
    queue.move(job_id, priority=1)
    queue.add("test-count", {"steps": 1})
    finished = make_worker().run(once=True)
    assert (finished[0].id, finished[0].status) == (job_id, "done") and finished[0].result["resume"]
    assert finished[0].attempts == 2 and "attempt 2" in finished[0].log_tail and "resuming" in finished[0].log_tail


def test_at_most_one_gpu_job_at_a_time(queue, make_worker):
    gpu_a = queue.add("test-count", {"steps": 3, "sleep": 0.1}, uses_gpu=True)
    gpu_b = queue.add("test-count", {"steps": 1}, uses_gpu=True)
    cpu = queue.add("test-count", {"steps": 1})
    make_worker(max_jobs=2).run(once=True)
    a, b, c = (queue.get(job_id) for job_id in (gpu_a, gpu_b, cpu))
    assert {a.status, b.status, c.status} == {"done"}
    assert b.started_at >= a.finished_at  # the second GPU job waited for the first
    assert c.started_at < a.finished_at  # the CPU job ran alongside


WORKER_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[2])
from genstudio.jobs import JobQueue, Worker, register_runner
register_runner("test-wait", "job_kinds:wait_for_cancel")
Worker(JobQueue(sys.argv[1]), poll_interval=0.05).run()
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_killed_worker_stops_its_child_and_the_job_becomes_interrupted(queue, wait_until):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    job_id = queue.add("test-wait", {"timeout": 60})
    worker = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(queue.path), str(Path(__file__).parent)])
    try:
        job = wait_until(lambda: (job := queue.get(job_id)).done > 0 and job)
        assert queue.recover() == []  # its worker is alive
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        wait_until(lambda: not _alive(job.child_pid), timeout=20)  # the orphan noticed and stopped by itself
    finally:
        worker.kill()
    assert queue.recover() == [job_id]
    assert queue.get(job_id).status == "interrupted"
