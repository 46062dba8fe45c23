"""The persistent job queue (Qt-free): long work queued in SQLite and run in child processes.

    from genstudio.jobs import JobQueue, Worker

    queue = JobQueue()                      # data_dir()/jobs.sqlite3, shared with the CLI and the app
    job_id = queue.add("train", {"backend": "dcgan", "data": "shapes/", "out": "model/", "steps": 500})
    worker = Worker(queue)
    worker.start()                          # background thread; each job runs in its own spawned process
    queue.get(job_id).fraction              # poll for progress (queue.last_change() says when to re-read)
    worker.stop()                           # running jobs become "interrupted"; queue.retry(job_id) resumes

The modules: model (Job, statuses), db (SQLite file, schema), queue (JobQueue), runners (kind -> function),
builtin (the train / generate / plugin-install runners), lock (one worker per queue), child (the job process),
execution (the parent's side of one job), worker (Worker).
"""

from genstudio.jobs.model import (
    CANCELLED,
    DONE,
    FAILED,
    INTERRUPTED,
    KINDS,
    PAUSED,
    QUEUED,
    RUNNING,
    STATUSES,
    Job,
)
from genstudio.jobs.queue import JobQueue
from genstudio.jobs.runners import RunnerSpec, register_runner, runner_spec, runner_specs, unregister_runner
from genstudio.jobs.worker import Worker

__all__ = [
    "CANCELLED", "DONE", "FAILED", "INTERRUPTED", "KINDS", "PAUSED", "QUEUED", "RUNNING", "STATUSES",
    "Job", "JobQueue", "RunnerSpec", "Worker", "register_runner", "runner_spec", "runner_specs", "unregister_runner",
]
