"""Help > Run the demo queues `genstudio demo` as a job; when it ends its grids open in the gallery."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from genstudio.provenance import write_png


def test_run_the_demo_queues_a_demo_job_into_the_data_folder(window):
    from genstudio import paths

    job_id = window.queue_demo()
    job = window.queue.get(job_id)
    assert job.kind == "demo" and job.params["out"] == str((paths.data_dir() / "demo").resolve())
    assert any(action.text() == "Run the demo" for action in window.menuBar().actions()[-1].menu().actions())


def test_a_finished_demo_opens_its_grids_in_the_gallery(window, tmp_path, qtbot):
    out = tmp_path / "demo"
    files = []
    for name in ("grid.png", "stylized.png"):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, np.full((8, 8, 3), 90, np.uint8), {"operation": "generate-grid", "backend": "cgan"})
        files.append(str(path))
    job = SimpleNamespace(id=41, kind="demo", status="done", params={"out": str(out)},
                          result={"out": str(out), "files": files})
    window.queue.get = lambda job_id: None  # the stored row: none, use the job as given
    window.record_job(job)
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.gallery, timeout=10000)
    assert sorted(entry.job for entry in window.history.entries if entry.job == 41) == [41, 41]
