"""The app keeps its work: results go into the history (a new window sees them), canvas changes undo and redo,
the provenance is a table, and "reuse settings / reuse seed" refill the parameters through the backend's schema."""

from __future__ import annotations

import numpy as np
import pytest

from genstudio.provenance import read_provenance


def _new_window(qtbot, queue, registry):
    from genstudio.gui.main_window import MainWindow

    window = MainWindow(queue, start_worker=False, registry=registry)
    qtbot.addWidget(window)
    return window


def _generate_shapes(window, qtbot, count: int, seed: int, resolution: int = 16, settle: bool = True):
    assert window.library.select("backend", lambda backend: backend == "shapes")
    window.params.form.editors["resolution"].setValue(resolution)
    window.params.options.count.setValue(count)
    window.params.options.seed.setValue(seed)
    window.params.options.lock.setChecked(True)
    task = window.generate()
    qtbot.waitUntil(task.done.is_set, timeout=30000)
    qtbot.waitUntil(lambda: len(window.content.images) == count)
    if settle:
        window.finish_history()  # the history's writer thread has written them
    return list(window.content.images)


def test_results_survive_a_restart_as_files_with_provenance(qtbot, queue, registry):
    window = _new_window(qtbot, queue, registry)
    made = _generate_shapes(window, qtbot, 3, seed=4, settle=False)
    window.close()  # closing lets the history's writer finish

    again = _new_window(qtbot, queue, registry)  # a new app instance
    kept = [again.history.get(image.history_id) for image in made]
    assert all(entry is not None and entry.path.is_file() for entry in kept)
    assert read_provenance(kept[1].path) == made[1].record  # a file, not only pixels in a window
    gallery = again.gallery
    assert gallery.model.rowCount() == 3
    assert gallery.model.entries[0].title == made[-1].title  # newest first
    assert not gallery.model.data(gallery.model.index(0, 0), 1).isNull()  # a thumbnail (DecorationRole)
    gallery.select(gallery.model.entries)
    gallery.show_button.click()
    assert [image.title for image in again.content.images] == [image.title for image in made]
    assert np.array_equal(np.asarray(read_provenance(again.content.images[0].path)["parameters"]["seed"]), 4)
    again.content.select(0)
    rows = dict(again.provenance.rows())
    assert rows["Operation"] == "generate" and rows["Backend"] == "shapes" and rows["Seed"] == "4"
    assert rows["Setting · resolution"] == "16"


def test_undo_and_redo_of_canvas_changes(qtbot, queue, registry):
    window = _new_window(qtbot, queue, registry)
    first = _generate_shapes(window, qtbot, 2, seed=1)
    second = _generate_shapes(window, qtbot, 3, seed=2)
    titles = lambda: [image.title for image in window.content.images]  # noqa: E731
    assert titles() == [image.title for image in second]
    window.undo_action.trigger()  # Generate replaced the set: undo shows the previous one
    assert titles() == [image.title for image in first]
    window.redo_action.trigger()
    assert titles() == [image.title for image in second]  # the images that streamed in come back too

    window.content.select(1)
    window.remove_action.trigger()
    assert titles() == [second[0].title, second[2].title]
    window.clear_action.trigger()
    assert window.content.images == [] and not window.clear_action.isEnabled()
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert titles() == [image.title for image in second]
    assert len(window.history.entries) == 5  # removing from the canvas keeps the history


def test_reuse_settings_and_seed_remake_the_image(qtbot, queue, registry):
    window = _new_window(qtbot, queue, registry)
    made = _generate_shapes(window, qtbot, 3, seed=21, resolution=20)
    entry = window.history.get(made[2].history_id)
    window.params.form.editors["resolution"].setValue(32)  # the panel moves on
    window.params.options.seed.setValue(99)
    window.params.options.lock.setChecked(False)

    assert window.reuse_entry(entry)
    assert window.params.form.values()["resolution"] == 20
    assert window.params.options.seed.value() == 21 and window.params.options.lock.isChecked()
    assert window.params.options.count.value() == 3  # up to image #2 of the seed
    task = window.generate()
    qtbot.waitUntil(task.done.is_set, timeout=30000)
    qtbot.waitUntil(lambda: len(window.content.images) == 3)
    assert np.array_equal(window.content.images[2].pixels, made[2].pixels)

    window.params.options.seed.setValue(5)
    assert window.reuse_entry(entry, seed_only=True)
    assert window.params.options.seed.value() == 21


@pytest.mark.parametrize("record", [
    {"backend": "shapes", "model": "shapes", "parameters": {"seed": 1}, "config": {"resolution": "huge"}},
    {"backend": "shapes", "model": "shapes", "parameters": {"seed": 1}, "config": {"evil": 1}},
    {"backend": "not-installed", "parameters": {"seed": 1}},
    {"backend": "shapes", "model": "shapes", "parameters": {"seed": "1; rm -rf"}},
])
def test_reuse_refuses_a_forged_record_in_one_line(qtbot, queue, registry, record):
    window = _new_window(qtbot, queue, registry)
    entry = window.history.add_image(np.zeros((4, 4, 3), np.uint8), record, "forged")
    window.params.options.seed.setValue(77)
    assert not window.reuse_entry(entry)
    assert window.params.options.seed.value() == 77
    message = window.statusBar().currentMessage()
    assert message.startswith("forged: ") and "\n" not in message


def test_provenance_table_is_readable_and_follows_the_gallery(qtbot, queue, registry):

    window = _new_window(qtbot, queue, registry)
    record = {"operation": "stylize", "backend": "gatys", "model": "gatys", "parameters": {
        "strength": 1.0, "config": {"steps": 2, "weights": {"vgg19": "x.safetensors"}}}, "note": "a\x1b[31mred"}
    entry = window.history.add_image(np.zeros((4, 4, 3), np.uint8), record, "styled")
    window.tabs.setCurrentWidget(window.gallery)
    window.gallery.select([entry])
    rows = dict(window.provenance.rows())
    assert rows["Operation"] == "stylize" and rows["Strength"] == "1.0"
    assert rows["Setting · steps"] == "2" and rows["Setting · weights.vgg19"] == "x.safetensors"
    assert rows["Note"] == "a\\x1b[31mred"  # untrusted text stays text: no control characters reach the table
    assert rows["File"] == str(entry.path)
    window.tabs.setCurrentWidget(window.canvas)  # back on the canvas: its (empty) selection
    assert window.provenance.rows()[0][0] == window.provenance.PLACEHOLDER
