"""A real `train` job on a few generated images: it runs in its child, writes a model, and a retry resumes."""

from __future__ import annotations

import json

from genstudio.jobs import Worker
from tests.toys import shade_classes


def test_train_job_writes_a_model_and_a_retry_resumes_from_its_checkpoint(queue, tmp_path):
    data, out = shade_classes(tmp_path / "data", count=8), tmp_path / "model"
    params = {"backend": "dcgan", "data": str(data), "out": str(out), "resolution": 32, "batch_size": 4,
              "set": ["channels=1", "ngf=4", "ndf=4"], "device": "cpu", "threads": 1, "sample_count": 4}
    first = queue.add("train", {**params, "steps": 2})
    again = queue.add("train", {**params, "steps": 3})  # the same folder: refused, until retried as a resume
    Worker(queue, poll_interval=0.05).run(once=True)

    job = queue.get(first)
    assert job.status == "done", job.error
    assert job.result["steps"] == 2 and job.result["model_dir"] == str(out) and not job.uses_gpu
    card = json.loads((out / "model.json").read_text())
    assert card["backend"] == "dcgan" and card["config"]["ngf"] == 4
    assert job.task and job.done == 2 and job.total == 2
    refused = queue.get(again)
    assert refused.status == "failed" and "already holds a training run" in refused.error

    assert queue.retry(again).resume
    Worker(queue, poll_interval=0.05).run(once=True)
    resumed = queue.get(again)
    assert resumed.status == "done", resumed.error
    assert resumed.result["resumed_from"] == 2 and resumed.result["steps"] == 3
