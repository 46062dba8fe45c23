"""The main window: opens on an empty user folder, lists the library, generates onto the canvas, shows provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from genstudio.gui.content import CanvasImage, save_image
from genstudio.provenance import read_provenance


def test_opens_and_closes_with_empty_user_folder(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    library = window.library_model
    assert library.count("plugin") >= 4  # gan, shapes, style, vae
    assert library.count("backend") >= 9
    assert library.count("model") == 0
    assert window.library.hint.isVisibleTo(window) and "No trained models" in window.library.hint.text()
    assert window.queue_model.rowCount() == 0
    assert window.queue_panel.empty_label.isVisibleTo(window)
    assert not window.params.generate_button.isEnabled()  # nothing selected yet
    assert "Pick a backend" in window.params.generate_button.toolTip()
    assert window.close()


def test_trainable_backend_without_model_cannot_generate(window):
    assert window.library.select("backend", lambda backend: backend == "dcgan")
    assert window.selection[1].id == "dcgan"
    assert not window.params.generate_button.isEnabled()
    assert "needs training first" in window.params.generate_button.toolTip()
    assert window.params.form is not None and "ngf" in window.params.form.editors
    assert window.train_action.isEnabled()


def test_queued_kinds_follow_the_selection(window, tiny_model, tmp_path):
    from genstudio.jobs import runner_spec

    for action in window.kind_actions.values():  # nothing selected
        assert not action.isEnabled() and action.toolTip()
    window.library.select("backend", lambda backend: backend == "gatys")
    if runner_spec("stylize-folder").target is not None:
        assert window.kind_actions["stylize-folder"].isEnabled()
        window.params.form.set_values({"features": "random"})
        window.params.style.set_style(tmp_path / "style.png")
        job_id = window.queue_kind("stylize-folder", folder=str(tmp_path))
        params = window.queue.get(job_id).params
        assert params["model"] == "gatys" and params["inputs"] == [str(tmp_path)]
        assert params["set"] == ["features=random"] and params["style"] == str(tmp_path / "style.png")
    assert not window.kind_actions["eval"].isEnabled()  # a backend, not a model
    window.open_model_folder(str(tiny_model))
    if runner_spec("eval").target is not None:
        assert window.kind_actions["eval"].isEnabled()
        job_id = window.queue_kind("eval", folder=str(tmp_path))
        assert window.queue.get(job_id).params == {"model": str(tiny_model), "data": str(tmp_path)}
    exportable = window.selection[1].capabilities.exportable and runner_spec("export").target is not None
    assert window.kind_actions["export"].isEnabled() == exportable
    if exportable:
        job_id = window.queue_kind("export")
        assert window.queue.get(job_id).params == {"model": str(tiny_model)}


def test_generate_from_a_model_folder_fills_the_canvas(window, qtbot, tiny_model, tmp_path):
    window.open_model_folder(str(tiny_model))
    assert window.selection[0] == "model"
    assert window.library_model.count("model") == 1
    assert not window.params.form.editors["ngf"].isEnabled()  # a trained model's settings are fixed
    assert window.params.form.values()["ngf"] == 4
    window.params.options.count.setValue(5)
    window.params.options.seed.setValue(7)
    task = window.generate()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 5)
    qtbot.waitUntil(lambda: len(window.canvas._items) == 5)  # laid out together, shortly after they arrive
    first = window.content.images[0]
    assert first.pixels.shape == (32, 32, 1)
    assert first.record["backend"] == "dcgan" and first.record["parameters"]["seed"] == 7
    window.content.select(2)
    text = window.provenance.toPlainText()
    assert '"seed": 7' in text and '"index": 2' in text and "dcgan" in text
    assert window.save_action.isEnabled()
    saved = save_image(window.content.current, tmp_path / "out.png")
    assert read_provenance(saved)["parameters"]["index"] == 2


def test_generate_from_a_procedural_backend_uses_the_form(window, qtbot):
    assert window.library.select("backend", lambda backend: backend == "shapes")
    assert window.params.generate_button.isEnabled()
    window.params.form.editors["resolution"].setValue(24)
    window.params.options.count.setValue(3)
    qtbot.waitUntil(lambda: window.params.options.label.count() == 4)  # "all classes" + 3 shapes
    window.params.options.label.setCurrentIndex(2)  # the second class
    task = window.generate()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 3)
    assert window.content.images[0].pixels.shape == (24, 24, 3)
    assert {image.record["parameters"]["label"] for image in window.content.images} == {1}
    assert window.content.images[0].record["config"]["resolution"] == 24


def test_a_bad_model_folder_is_a_message_not_a_crash(window, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("{not json")
    window.open_model_folder(str(broken))
    assert "not valid JSON" in window.statusBar().currentMessage()
    assert window.library_model.count("model") == 0


def test_canvas_modes_zoom_and_dropped_folders(window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    for index in range(3):
        Image.fromarray(np.full((8, 12, 3), index * 80, np.uint8)).save(folder / ("sub" if index else "") /
                                                                        f"p{index}.png")
    (folder / "notes.txt").write_text("not an image")
    assert window.canvas.add_paths([str(folder)]) == 3
    window.canvas.flush()
    assert len(window.canvas._items) == 3
    window.canvas.resize(600, 400)
    before = window.canvas.zoom
    window.canvas.zoom_by(2.0)
    assert abs(window.canvas.zoom - before * 2) < 1e-6
    window.canvas.actual_size()
    assert window.canvas.zoom == 1.0
    window.content.select(1)
    window.content.set_mode("single")
    assert len(window.canvas._items) == 1 and window.canvas._items[0].pixmap().width() == 12
    window.compare()
    assert window.content.mode == "split" and window.canvas.split_item is not None
    window.canvas.split_item.set_fraction(0.25)
    assert window.canvas.split_item.fraction == 0.25
    window.content.set_mode("grid")
    assert len(window.canvas._items) == 3
    window.content.select(0)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    assert window.content.selected == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.content.mode == "single"
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    assert window.content.selected == 2 and window.canvas._items[0].data(0) == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.content.mode == "grid"
    assert window.content.images[0].record is None
    assert "No genstudio provenance" in CanvasImage.from_file(folder / "p0.png").describe()


def test_copy_selected_puts_the_image_on_the_clipboard(window, qtbot):
    from PySide6.QtWidgets import QApplication

    window.content.set_images([CanvasImage("a", np.full((5, 7, 3), 200, np.uint8))])
    window.content.select(0)
    window.copy_selected()
    assert QApplication.clipboard().pixmap().width() == 7


def test_latent_explorer_interpolates_between_seeds(window, qtbot):
    window.library.select("backend", lambda backend: backend == "shapes")
    window.params.form.editors["resolution"].setValue(16)
    explorer = window.open_latent_explorer()
    qtbot.addWidget(explorer)
    explorer.steps.setValue(5)
    task = explorer.run()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(explorer.content.images) == 5)
    ts = [image.record["parameters"]["t"] for image in explorer.content.images]
    assert ts == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert not np.array_equal(explorer.content.images[0].pixels, explorer.content.images[-1].pixels)
    before = list(window.content.images)
    explorer.send_to_canvas.emit(list(explorer.content.images))
    assert len(window.content.images) == 5
    window.edits.undo()  # sending replaced the canvas: one undo brings the previous set back
    assert window.content.images == before
    explorer.close()


def test_dragged_image_sets_a_latent_endpoint(window, qtbot):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDropEvent

    from genstudio.gui.latent import EndpointDrop, LatentExplorer
    from genstudio.gui.sampling import Source

    record = {"parameters": {"seed": 321, "index": 4}}
    window.content.set_images([CanvasImage("seed 321 #4", np.zeros((4, 4, 3), np.uint8), None, record)])
    explorer = LatentExplorer(Source("shapes"), window.content)
    qtbot.addWidget(explorer)
    drop = explorer.findChildren(EndpointDrop)[1]  # end B
    mime = window.canvas.drag_mime(0)
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    drop.dropEvent(event)
    assert explorer.seed_b.value() == 321 and explorer.index.value() == 4
    window.content.select(0)
    explorer.seed_a.setValue(0)
    assert explorer.take_selected(explorer.seed_a) and explorer.seed_a.value() == 321


def test_generated_images_remember_the_model_hash(window, qtbot, tiny_model):
    from genstudio.models import read_card

    window.open_model_folder(str(tiny_model))
    window.params.options.count.setValue(1)
    task = window.generate()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 1)
    assert window.content.images[0].record["model_sha256"] == read_card(Path(tiny_model)).weights_sha256


def test_stylize_opens_a_before_after_split(window, qtbot, tmp_path, single_torch_thread):
    content = tmp_path / "photo.png"
    style = tmp_path / "style.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(content)
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(style)
    assert window.library.select("backend", lambda backend: backend == "gatys")
    assert window.params.style_box.isVisibleTo(window.params) and not window.params.options_box.isVisibleTo(
        window.params)
    assert "is a stylizer" in window.params.generate_button.toolTip()
    form = window.params.form
    form.set_values({"features": "random", "steps": 2, "max_size": 24})
    window.canvas.add_paths([str(content)])
    window.content.select(0)
    window.params.style.set_style(style)
    window.params.style.max_size.setValue(0)  # the backend's default (the form's 24)
    task = window.stylize()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=60000):
        pass
    qtbot.waitUntil(lambda: window.content.mode == "split")
    assert len(window.content.images) == 2 and window.content.split_pair == (0, 1)
    after = window.content.images[1]
    assert after.pixels.shape[2] == 3 and max(after.pixels.shape[:2]) == 24
    assert after.record["backend"] == "gatys" and after.record["style_sha256"]
    assert window.canvas.split_item is not None


def test_stylizer_needing_a_style_image_says_so(window, qtbot, tmp_path):
    content = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(content)
    window.library.select("backend", lambda backend: backend == "gatys")
    window.params.form.set_values({"features": "random"})
    window.params.style.set_content(content)
    task = window.stylize()
    with qtbot.waitSignal(task.signals.failed, timeout=60000) as failed:
        pass
    assert "needs a style image" in failed.args[0]


def test_try_it_generates_with_a_backend_that_needs_no_training(window, qtbot):
    task = window.try_it()
    assert task is not None
    assert not window.selection[1].capabilities.trainable
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == window.params.options.count.value())


def test_run_app_starts_on_an_empty_user_folder_and_quits(qtbot, isolated_home):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from genstudio.gui import run_app
    from genstudio.gui.main_window import MainWindow

    seen = []

    def close_all():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen.extend(windows)
        for window in windows:
            window.close()

    QTimer.singleShot(300, close_all)
    assert run_app() == 0
    assert len(seen) == 1
    assert seen[0].queue.path.is_relative_to(isolated_home)  # the user's queue, created on first start
    assert seen[0].worker is None  # stopped on close


def test_a_generate_jobs_results_replace_the_canvas_undoably(window, tmp_path):
    from types import SimpleNamespace

    from genstudio.provenance import write_png

    files = []
    for index in range(2):
        path = tmp_path / f"job-{index}.png"
        write_png(path, np.full((4, 4, 3), 60 * index, np.uint8), {"parameters": {"seed": 1, "index": index}})
        files.append(str(path))
    kept = [CanvasImage("before", np.zeros((4, 4, 3), np.uint8), None, {"parameters": {"seed": 9, "index": 0}})]
    window.edits.show(kept)
    assert window.show_job_results(SimpleNamespace(id=7, result={"files": [*files, str(tmp_path / "gone.png")]})) == 2
    assert [image.path for image in window.content.images] == [Path(path) for path in files]
    window.edits.undo()
    assert [image.title for image in window.content.images] == ["before"]
