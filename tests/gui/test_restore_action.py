"""Tools › Restore… in the main window: on the canvas's selected image (or the gallery's), the dialog offers the
library's restore models, runs without freezing the window, and its result goes into the history and opens beside
the original in the before/after split (Ctrl+Z undoes that)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from .test_mask_painter import photo_file, restorer


def test_restore_the_canvas_image_into_the_history_and_the_split(window, qtbot, registry, tmp_path,
                                                                 single_torch_thread):
    model = restorer(tmp_path / "restorer", registry)
    photo = photo_file(tmp_path / "photo.png")
    assert window.open_restore() is None  # nothing selected: a message, no dialog
    assert "Select an image first" in window.statusBar().currentMessage()

    window.open_model_folder(str(model))
    window.canvas.add_paths([str(photo)])
    window.content.select(0)
    assert window.restore_action in window.canvas.actions()
    assert window.restore_action.shortcut().toString() == "Ctrl+R"
    window.restore_action.trigger()
    dialog = window.explorers[-1]
    assert dialog.current_source().folder == model.resolve()
    qtbot.mousePress(dialog.canvas, Qt.MouseButton.LeftButton, pos=dialog.canvas.to_widget(12, 12))
    qtbot.mouseRelease(dialog.canvas, Qt.MouseButton.LeftButton, pos=dialog.canvas.to_widget(12, 12))
    task = dialog.run()
    assert dialog.run_button.text() == "Stop"  # the work is on the pool; the window keeps handling events
    with qtbot.waitSignal(task.signals.finished, timeout=60000):
        pass
    qtbot.waitUntil(lambda: window.content.mode == "split")
    before, after = window.content.images
    assert before.path == photo and after.record["operation"] == "restore"
    assert after.history_id is not None
    qtbot.waitUntil(lambda: window.history.get(after.history_id) is not None and
                    window.history.get(after.history_id).path.is_file(), timeout=10000)
    window.undo_action.trigger()  # the split is one undoable canvas edit
    assert window.content.mode != "split"

    # from the gallery: its selected entry is the image restored
    window.tabs.setCurrentWidget(window.gallery)
    entry = window.history.get(after.history_id)
    window.gallery.select([entry])
    gallery_dialog = window.open_restore()
    assert gallery_dialog is not None and gallery_dialog.image_path == entry.path
    assert np.array_equal(gallery_dialog.canvas.mask_array(), np.zeros(after.pixels.shape[:2], np.uint8))
