"""The window over a real job worker: a short training run finishes and its model generates onto the canvas, a
running training job is cancelled, the event loop stays responsive while it trains, and a restarted app finds
interrupted and queued jobs where it left them. A finished generate job's images reach the canvas."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from tests.gui.conftest import TINY_DCGAN


def _dataset(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(8):
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(folder / f"{index}.png")
    return folder


def _train_params(tmp_path, data, name):
    return {"backend": "dcgan", "data": str(data), "out": str(tmp_path / name), "steps": 100_000, "batch_size": 4,
            "device": "cpu", "threads": 1, "config": TINY_DCGAN, "log_every": 1, "sample_every": 100_000,
            "checkpoint_every": 100_000}


def _event_loop_lateness(qtbot, seconds: float = 1.5, interval_ms: int = 20) -> list[float]:
    """How late (ms) each tick of a repeating timer fired while the loop ran for `seconds`."""
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    qtbot.wait(int(seconds * 1000))
    timer.stop()
    return [max(0.0, (b - a) * 1000 - interval_ms) for a, b in zip(ticks, ticks[1:], strict=False)]


def _wait_status(qtbot, queue, job_id, statuses, timeout=60000):
    qtbot.waitUntil(lambda: queue.get(job_id).status in statuses, timeout=timeout)


def test_jobs_through_the_window(qtbot, tmp_path, registry, queue, tiny_model):
    from genstudio.gui.main_window import MainWindow

    data = _dataset(tmp_path / "data")
    stale_id = queue.add("generate", {"model": str(tiny_model), "out": str(tmp_path / "gen0"), "count": 1})
    assert queue.claim_next(worker_pid=2**22 + 12345).id == stale_id  # "running" under a worker that is gone
    short = {**_train_params(tmp_path, data, "short"), "steps": 4, "sample_every": 2, "checkpoint_every": 4}
    short_id = queue.add("train", short, priority=5)
    train_id = queue.add("train", _train_params(tmp_path, data, "run"))
    waiting_id = queue.add("generate", {"model": str(tiny_model), "out": str(tmp_path / "gen2"), "count": 1})

    window = MainWindow(queue, registry=registry)
    qtbot.addWidget(window)
    assert window.worker is not None and window.worker.alive
    assert queue.get(stale_id).status == "interrupted"  # found on start-up, offered for resume
    assert "interrupted" in window.statusBar().currentMessage()

    _wait_status(qtbot, queue, short_id, ("done",))  # a short run trains to the end...
    qtbot.waitUntil(lambda: window.library_model.find(  # ...and its model shows up in the library
        "model", lambda entry: entry.name == "short" and entry.backend == "dcgan") is not None, timeout=10000)
    view = window.open_training_view(tmp_path / "short")
    view.refresh()
    assert view.log.rows and view.samples.pixmap() is not None and not view.samples.pixmap().isNull()
    assert window.library.select_model(tmp_path / "short")
    window.params.options.count.setValue(2)
    task = window.generate()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 2)

    qtbot.waitUntil(lambda: queue.get(train_id).status == "running" and queue.get(train_id).done > 0,
                    timeout=60000)
    qtbot.waitUntil(lambda: window.queue_model.job(window.queue_model.row_of(train_id)).status == "running")
    lateness = sorted(_event_loop_lateness(qtbot))
    assert len(lateness) > 20
    assert lateness[int(len(lateness) * 0.95)] < 100, lateness[-5:]  # the UI thread never waits on the job

    window.queue_panel.pause_button.click()  # no new job starts: the last one stays queued
    window.queue_panel.select_job(train_id)
    window.queue_panel.cancel_button.click()
    _wait_status(qtbot, queue, train_id, ("cancelled",))
    window.close()

    again = MainWindow(queue, start_worker=False, registry=registry)
    qtbot.addWidget(again)
    statuses = {job.id: job.status for job in again.queue_model.jobs}
    assert statuses == {stale_id: "interrupted", short_id: "done", train_id: "cancelled",
                        waiting_id: "queued"}
    assert again.queue_panel.pause_button.text() == "Resume queue"
    again.queue_panel.select_job(stale_id)
    assert again.queue_panel.retry_button.isEnabled()
    again.queue_panel.retry_button.click()
    assert queue.get(stale_id).status == "queued"
    again.close()


def test_finished_generate_job_shows_its_images(window, queue, tiny_model, tmp_path):
    from genstudio.generate_folder import generate_to_folder
    from genstudio.jobs.model import DONE

    job_id = queue.add("generate", {"model": str(tiny_model), "out": str(tmp_path / "gen"), "count": 3})
    summary = generate_to_folder(tiny_model, tmp_path / "gen", count=3, device="cpu")
    queue.claim_next()
    queue.finish(job_id, DONE, result=summary.to_dict())
    window.queue_model.refresh()
    window.queue_panel.select_job(job_id)
    window.queue_panel._open_job()
    assert len(window.content.images) == 3
    assert window.content.images[0].record["backend"] == "dcgan"
    assert window.content.images[0].path.name == "seed0-00000.png"


def test_another_worker_owns_the_queue_then_the_window_takes_over(qtbot, queue, registry):
    from genstudio.gui.main_window import MainWindow
    from genstudio.jobs.lock import WorkerLock

    other = WorkerLock(queue.path)  # a CLI `genstudio jobs worker`, say
    assert other.acquire()
    window = MainWindow(queue, registry=registry)
    qtbot.addWidget(window)
    assert window.worker is None
    assert "another worker" in window.worker_label.text()
    assert "already runs the job queue" in window.statusBar().currentMessage()
    assert not window.adopt_queue()  # still owned
    other.release()
    assert window.adopt_queue()
    assert window.worker is not None and window.worker.alive and window.worker_label.text() == "job worker: running"
    window.close()
    assert window.worker is None
