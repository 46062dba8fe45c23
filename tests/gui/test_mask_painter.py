"""The app's restore dialog: painting a mask (brush, eraser, undo, clear), the task list following the restorer,
then inpainting and upscaling one image on a worker thread through restore_image: the same pixels and provenance as
`genstudio restore` with the mask the dialog kept."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt


def restorer(folder, registry, tasks="inpaint,upscale"):
    import torch
    from genstudio_restore.backend import RestoreBackend

    from genstudio.models import save_model

    spec = registry.backend("restore")
    config = spec.schema.resolve({"size": "lite", "width": 4, "tasks": tasks})
    module = RestoreBackend.build(config)
    torch.manual_seed(0)
    torch.nn.init.normal_(module.net.head.weight, 0, 0.1)  # an untrained head is 0: make the fill visible
    save_model(folder, spec, config, module.state_dict())
    return folder


def photo_file(path, size=(32, 40)):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def finish(qtbot, dialog):
    task = dialog.run()
    assert task is not None
    with qtbot.waitSignal(dialog.restored, timeout=60000) as blocker:
        pass
    return blocker.args[0]


def test_paint_erase_undo_then_inpaint_and_upscale_like_the_command_line(qtbot, registry, tmp_path,
                                                                         single_torch_thread):
    from genstudio.batch.restore import restore_folder
    from genstudio.gui.mask_painter import MaskPainter
    from genstudio.gui.sampling import Source
    from genstudio.provenance import read_provenance, without_time

    photo = photo_file(tmp_path / "photo.png")
    model = restorer(tmp_path / "model", registry)
    dialog = MaskPainter(photo, [Source("restore", model.resolve(), device="cpu")])
    qtbot.addWidget(dialog)
    dialog.show()
    canvas = dialog.canvas
    assert [dialog.task_box.itemText(i) for i in range(dialog.task_box.count())] == ["inpaint", "upscale"]
    dialog.run()
    assert "mask is empty" in dialog.error and dialog.task is None  # nothing painted: nothing runs

    dialog.brush.setValue(6)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(10, 10))
    qtbot.mouseMove(canvas, canvas.to_widget(30, 10))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(30, 10))
    painted = canvas.mask_array()
    assert painted.shape == (32, 40) and painted[10, 10:31].min() == 255 and painted[25, :].max() == 0
    overlay = canvas._overlay()  # what is drawn over the image: red where painted, clear elsewhere
    assert overlay.pixelColor(20, 10).alpha() > 0 and overlay.pixelColor(20, 25).alpha() == 0
    dialog.eraser.setChecked(True)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(20, 10))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(20, 10))
    assert canvas.mask_array()[10, 20] == 0 and canvas.mask_array()[10, 10] == 255
    canvas.undo()  # the eraser's dab comes back off
    assert np.array_equal(canvas.mask_array(), painted)
    canvas.clear()
    assert not canvas.mask_array().any()
    canvas.undo()
    dialog.eraser.setChecked(False)

    made = finish(qtbot, dialog)
    hole = painted >= 128
    original = pixels(photo)
    assert np.array_equal(made.pixels[~hole], original[~hole]) and not np.array_equal(made.pixels[hole],
                                                                                      original[hole])
    assert made.record["operation"] == "restore" and made.record["parameters"]["task"] == "inpaint"
    kept_mask = made.record["mask"]  # the painted mask, kept in the app's data folder for reproduce
    assert np.array_equal(pixels(kept_mask)[..., 0], np.where(hole, 255, 0))
    cli = restore_folder(str(model), [photo], tmp_path / "cli", task="inpaint", mask=kept_mask, device="cpu")
    assert cli.written == 1
    assert np.array_equal(made.pixels, pixels(tmp_path / "cli" / "photo.png"))
    assert without_time(made.record) == without_time(read_provenance(tmp_path / "cli" / "photo.png"))
    assert not dialog.after.pixmap().isNull() and dialog.run_button.text() == "Run"
    from genstudio.provenance import png_bytes
    from genstudio.reproduce import reproduce

    saved = tmp_path / "saved.png"  # the app's result saved with its record remakes itself
    saved.write_bytes(png_bytes(made.pixels, made.record))
    assert reproduce(saved, tmp_path / "again.png").identical

    dialog.task_box.setCurrentText("upscale")  # the whole image: the brush is off
    assert not dialog.brush.isEnabled() and not canvas.painting
    assert finish(qtbot, dialog).pixels.shape == (64, 80, 3)


def test_the_task_list_follows_the_restorer_and_a_bad_folder_is_one_line(qtbot, registry, tmp_path):
    from genstudio.gui.mask_painter import MaskPainter
    from genstudio.gui.sampling import Source

    photo = photo_file(tmp_path / "photo.png")
    denoiser = restorer(tmp_path / "denoiser", registry, tasks="denoise")
    dialog = MaskPainter(photo, [Source("restore", restorer(tmp_path / "m", registry).resolve(), device="cpu")])
    qtbot.addWidget(dialog)
    assert dialog.add_model_folder(denoiser)
    assert [dialog.task_box.itemText(i) for i in range(dialog.task_box.count())] == ["denoise"]
    assert not dialog.brush.isEnabled()
    assert not dialog.add_model_folder(tmp_path)  # not a model folder
    assert "model.json" in dialog.error and "\n" not in dialog.error
    assert dialog.model.count() == 2
