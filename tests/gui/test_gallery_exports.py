"""The gallery: a folder job run by the window's worker opens its results in the gallery; filters; save selection /
save all (provenance kept, nothing overwritten), a contact sheet and an animated GIF / WebP of a selection; the save
dialogs start in the last folder used."""

from __future__ import annotations

import numpy as np
from PIL import Image

from genstudio.provenance import read_provenance

GATYS = {"features": "random", "steps": 2, "max_size": 32}  # random VGG features, two steps: seconds on a CPU


def _record(seed: int, backend: str = "shapes", operation: str = "generate"):
    return {"backend": backend, "model": backend, "operation": operation, "parameters": {"seed": seed, "index": 0}}


def _fill(history, count: int = 4, side: int = 12):
    return [history.add_image(np.full((side, side, 3), 40 * i, np.uint8), _record(i), f"seed {i}")
            for i in range(count)]


def test_a_folder_job_opens_its_results_in_the_gallery(qtbot, tmp_path, registry, queue, single_torch_thread):
    from genstudio.gui.main_window import MainWindow

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(photos / f"{name}.png")
    (photos / "broken.png").write_bytes(b"not an image")  # costs itself only
    style = tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(style)

    window = MainWindow(queue, registry=registry)
    qtbot.addWidget(window)
    window.history.add_image(np.zeros((8, 8, 3), np.uint8), _record(1), "older")  # already in the gallery
    assert window.library.select("backend", lambda backend: backend == "gatys")
    window.params.form.set_values(GATYS)
    window.params.style.set_style(style)
    job_id = window.queue_kind("stylize-folder", folder=str(photos))
    assert job_id is not None
    qtbot.waitUntil(lambda: queue.get(job_id).status in ("done", "failed"), timeout=120000)
    assert queue.get(job_id).status == "done", queue.get(job_id).error
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.gallery, timeout=10000)
    chosen = window.gallery.selected()
    out = tmp_path / queue.get(job_id).params["out"]
    assert sorted(entry.path.name for entry in chosen) == ["a.png", "b.png", "c.png"]
    assert all(entry.path.parent == out.resolve() and entry.job == job_id for entry in chosen)
    assert {entry.operation for entry in chosen} == {"stylize"} and {entry.backend for entry in chosen} == {"gatys"}
    assert "3 image(s)" in window.statusBar().currentMessage()
    window.gallery.set_filter(operation="stylize")
    assert window.gallery.model.rowCount() == 3
    window.gallery.set_filter(model="shapes")
    assert [entry.title for entry in window.gallery.model.entries] == ["older"]
    window.close()


def test_save_selection_save_all_contact_sheet_and_animation(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from genstudio.gui import gallery as gallery_module

    entries = _fill(window.history)
    gallery = window.gallery
    gallery.select(entries[:2])
    assert [entry.title for entry in gallery.selected()] == ["seed 0", "seed 1"]  # oldest first: frame order
    out = tmp_path / "picked"
    (out).mkdir()
    (out / entries[0].path.name).write_bytes(b"keep me")
    saved = gallery.save_selection(str(out))
    assert len(saved) == 2 and (out / entries[0].path.name).read_bytes() == b"keep me"  # never overwritten
    assert read_provenance(saved[0])["parameters"]["seed"] == 0
    assert len(gallery.save_all(str(tmp_path / "all"))) == 4

    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda parent, title, start, filters: (asked.append(start) or str(tmp_path / "ex" / "sheet"),
                                                               ""))
    gallery.select(entries)
    sheet = gallery.export_contact_sheet()
    assert sheet == tmp_path / "ex" / "sheet.png"
    with Image.open(sheet) as image:
        assert image.size[0] > 2 * 256 and image.size[1] > 2 * 256  # 2 x 2 cells of 256 px
    assert gallery_module.last_folder() == tmp_path / "ex"  # the next dialog opens here, not in the home folder

    for suffix, frames in ((".gif", 4), (".webp", 4)):
        made = gallery.export_animation(str(tmp_path / "ex" / f"walk{suffix}"))
        with Image.open(made) as image:
            assert image.n_frames == frames and image.size == (12, 12)
    odd = window.history.add_image(np.zeros((5, 5, 3), np.uint8), _record(9), "odd size")
    gallery.select([*entries, odd])
    assert gallery.export_animation(str(tmp_path / "ex" / "bad.gif")) is None
    assert "one size" in window.statusBar().currentMessage()
    assert not (tmp_path / "ex" / "bad.gif").exists()
    gallery.export_contact_sheet()
    assert asked[-1].startswith(str(tmp_path / "ex"))


def test_missing_and_forgotten_entries(window):
    entries = _fill(window.history, 3)
    entries[1].path.unlink()
    gallery = window.gallery
    gallery.model.refresh()
    assert gallery.model.rowCount() == 3  # a missing file stays listed
    assert "missing" in gallery.model.data(gallery.model.index_of(entries[1].id), 3)  # ToolTipRole
    gallery.select([entries[1]])
    gallery.show_selected()
    assert window.content.images == [] and "missing" in window.statusBar().currentMessage()
    gallery.select([entries[0], entries[2]])
    gallery.show_selected()
    assert [image.title for image in window.content.images] == ["seed 0", "seed 2"]
    gallery.select([entries[0]])
    assert gallery.forget_selected() == 1
    assert gallery.model.rowCount() == 2 and not entries[0].path.exists()  # the app's own copy goes


def test_new_results_keep_the_gallery_selection(window):
    entries = _fill(window.history, 3)
    gallery = window.gallery
    gallery.select([entries[0]])
    newer = window.history.add_image(np.zeros((6, 6, 3), np.uint8), _record(7), "newer")
    assert gallery.model.entries[0] == newer  # newest first
    assert [entry.title for entry in gallery.selected()] == ["seed 0"]  # still the one the user picked
    gallery.set_filter(operation="generate")
    gallery.select([entries[0]])
    window.history.add_image(np.zeros((6, 6, 3), np.uint8), _record(8, operation="stylize"), "filtered out")
    assert gallery.model.rowCount() == 4 and [entry.title for entry in gallery.selected()] == ["seed 0"]
