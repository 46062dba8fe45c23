"""The queue people can read: rows in run order, reordering by drag (kept in SQLite), a human line per job, a
dock tall enough for several jobs, and a failed job failed everywhere (queue, training view, library)."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt


def _panel(qtbot, queue):
    from genstudio.gui.queue_model import QueueModel, QueuePanel

    model = QueueModel(queue)
    panel = QueuePanel(model)
    qtbot.addWidget(panel)
    return model, panel


def _ids(model):
    return [model.job(row).id for row in range(model.rowCount())]


def test_rows_follow_the_run_order_and_reordering_shows(qtbot, queue, tmp_path):
    ids = [queue.add("plugin-install", {"requirement": f"pkg{i}"}) for i in range(4)]
    model, panel = _panel(qtbot, queue)
    assert _ids(model) == ids
    queue.move(ids[3], to=1)  # e.g. from the CLI: the table follows the queue's order, not the ids
    model.refresh()
    assert _ids(model) == [ids[3], ids[0], ids[1], ids[2]]
    panel.select_job(ids[2])
    panel.up_button.click()
    assert _ids(model) == [ids[3], ids[0], ids[2], ids[1]] == [job.id for job in queue.pending()]
    # a drop: the dragged job's data onto row 0
    mime = model.mimeData([model.index(model.row_of(ids[1]), 0)])
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsDragEnabled
    model.dropMimeData(mime, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    assert _ids(model) == [ids[1], ids[3], ids[0], ids[2]] == [job.id for job in queue.pending()]
    model.dropMimeData(model.mimeData([model.index(0, 0)]), Qt.DropAction.MoveAction, -1, -1, QModelIndex())
    assert _ids(model) == [ids[3], ids[0], ids[2], ids[1]]  # dropped below the last row: runs last


def test_running_first_then_waiting_then_finished_newest_first(qtbot, queue):
    ids = [queue.add("plugin-install", {"requirement": f"pkg{i}"}) for i in range(4)]
    queue.claim_next(worker_pid=1)
    queue.finish(ids[0], "done")
    time.sleep(0.01)
    queue.claim_next(worker_pid=1)
    queue.finish(ids[1], "failed", error="boom")
    queue.claim_next(worker_pid=1)
    model, _ = _panel(qtbot, queue)
    assert _ids(model) == [ids[2], ids[3], ids[1], ids[0]]
    running = model.index(0, 0)
    assert not model.flags(running) & Qt.ItemFlag.ItemIsDragEnabled  # started jobs cannot be dragged


def test_the_what_column_is_a_sentence(qtbot, queue, tmp_path):
    from genstudio.gui.queue_model import describe_job

    queue.add("train", {"backend": "dcgan", "data": "/home/ann/digits/train", "out": "/home/ann/models/m",
                        "steps": 2000, "config": {"ngf": 8}})
    queue.add("stylize-folder", {"model": "/home/ann/models/candy", "inputs": ["/home/ann/photos"],
                                 "out": "/home/ann/out", "set": ["features=random"]})
    queue.add("plugin-install", {"requirement": "genstudio-extra"})
    model, _ = _panel(qtbot, queue)
    texts = [model.index(row, 2).data() for row in range(3)]
    assert texts == ["Train dcgan on digits/train, 2000 steps -> m", "Stylize ann/photos with candy -> out",
                     "Install plugin genstudio-extra"]
    assert all("{" not in text and "[" not in text and "=" not in text for text in texts)
    assert describe_job(model.job(0)).startswith("Train dcgan")


def test_the_dock_shows_several_rows(qtbot, queue):
    from genstudio.gui.queue_model import VISIBLE_ROWS

    _, panel = _panel(qtbot, queue)
    row = panel.table.verticalHeader().defaultSectionSize()
    assert panel.table.minimumHeight() >= row * VISIBLE_ROWS and VISIBLE_ROWS >= 5


def _failed_train(queue, tmp_path):
    out = tmp_path / "models" / "dcgan-run"
    job_id = queue.add("train", {"backend": "dcgan", "data": str(tmp_path / "data"), "out": str(out), "steps": 10})
    queue.claim_next(worker_pid=1)
    queue.report(job_id, task="Reading data", done=6, total=6)  # the last event said 6 of 6
    queue.finish(job_id, "failed", error="dcgan: resolution must be 32, 64 or 128, got 48")
    out.mkdir(parents=True)
    return job_id, out


def test_a_failed_train_job_looks_failed_in_the_queue(qtbot, queue, tmp_path):
    job_id, _ = _failed_train(queue, tmp_path)
    model, _ = _panel(qtbot, queue)
    row = model.row_of(job_id)
    assert model.index(row, 3).data() == "failed"
    assert model.index(row, 4).data() == "failed"  # never "100%"
    assert "resolution must be" in model.index(row, 6).data()


def test_a_failed_train_job_looks_failed_in_the_training_view_and_library(window, qtbot, tmp_path):
    from genstudio.gui.library import ROLE_KIND, ROLE_PAYLOAD

    job_id, out = _failed_train(window.queue, tmp_path)
    window.queue_model.refresh(force=True)
    view = window.open_training_job(window.queue.get(job_id))
    assert view.state.isVisibleTo(view) and view.state.text().startswith("Failed: dcgan: resolution")
    assert "Waiting" not in view.stats.text()
    window.reload_library()
    index = window.library_model.find("model", lambda entry: entry.folder.resolve() == out.resolve())
    assert index is not None
    text = index.data()
    assert text.endswith("(failed)") and "training" not in text
    assert "resolution must be" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert index.data(ROLE_KIND) == "model" and index.data(ROLE_PAYLOAD).folder.resolve() == out.resolve()


def test_training_views_follow_job_states(window, qtbot, tmp_path):
    out = tmp_path / "run"
    job_id = window.queue.add("train", {"backend": "dcgan", "data": str(tmp_path), "out": str(out), "steps": 5})
    view = window.open_training_job(window.queue.get(job_id))
    assert view.state.text().startswith("Queued")
    window.queue.claim_next(worker_pid=1)
    window.queue.finish(job_id, "failed", error="no images to train on")
    window.queue_model.refresh(force=True)  # what the panel's timer does
    assert view.state.text() == "Failed: no images to train on"
