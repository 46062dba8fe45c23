"""The training form: the backend's whole schema, only the values it accepts, the dataset's settings locked, the
operation's checks before anything is queued, remembered values, a new output folder per run, and the parameters
panel left as it was after queueing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genstudio.errors import UserError


def _grey_classes(root: Path, classes=("zero", "one"), count: int = 3) -> Path:
    for name in classes:
        (root / name).mkdir(parents=True)
        for index in range(count):
            Image.fromarray(np.full((16, 16), 60 * index, np.uint8)).save(root / name / f"{index}.png")
    return root


def _form(window, qtbot, backend: str = "dcgan", data: str = ""):
    from genstudio.gui.train_dialog import TrainDialog

    dialog = TrainDialog(window.registry, backend, None, data, parent=window, taken=window.queued_run_folders)
    dialog.queued.connect(window.queue_train)
    qtbot.addWidget(dialog)
    return dialog


def test_whole_schema_and_only_accepted_resolutions(window, qtbot, tmp_path):
    data = _grey_classes(tmp_path / "data")
    dialog = _form(window, qtbot, "dcgan", str(data))
    spec = window.registry.backend("dcgan")
    assert not dialog.isModal()
    assert set(dialog.form.editors) == {item.name for item in spec.schema} - {"resolution"}
    offered = [dialog.resolution.itemData(i) for i in range(dialog.resolution.count())]
    assert offered == sorted(spec.schema.field("resolution").allowed) == [32, 64, 128]  # 48 / 96 never offered
    label = dialog.form.labels["spectral_norm"]
    assert label.text() == "Spectral norm" and "Miyato" in label.toolTip()
    # the dataset decides channels (grey images): shown, locked, and not sent as a user setting
    assert dialog.derived == {"channels": 1}
    assert not dialog.form.editors["channels"].isEnabled() and "from dataset" in dialog.form.labels["channels"].text()
    assert "config" not in dialog.job_params()


def test_invalid_requests_are_refused_before_queueing(window, qtbot, tmp_path):
    data = _grey_classes(tmp_path / "data")
    dialog = _form(window, qtbot, "dcgan", str(data))
    dialog.out.setText(str(tmp_path / "run"))
    dialog.resolution.addItem("48 × 48", 48)  # what the old form offered: now refused by the schema, at once
    dialog.resolution.setCurrentIndex(dialog.resolution.findData(48))
    assert dialog.queue_run() is None
    assert "Resolution" in dialog.error.text() or "resolution" in dialog.error.text()
    assert "32, 64, 128" in dialog.error.text()
    assert window.queue.list() == []
    dialog.resolution.setCurrentIndex(dialog.resolution.findData(32))
    (tmp_path / "empty").mkdir()
    dialog.data.setText(str(tmp_path / "empty"))
    assert dialog.queue_run() is None and "no images" in dialog.error.text().lower()
    assert window.queue.list() == []
    dialog.data.setText(str(data))
    assert dialog.queue_run() is not None and dialog.error.text() == ""
    (job,) = window.queue.list()
    assert job.params["resolution"] == 32 and job.params["out"] == str(tmp_path / "run")


def test_the_operation_check_is_the_one_the_cli_uses(window, qtbot, tmp_path, monkeypatch):
    """The form calls genstudio.operations.train.check_training: a failure there is the form's error line."""
    import genstudio.operations.train as operation

    data = _grey_classes(tmp_path / "data")
    dialog = _form(window, qtbot, "dcgan", str(data))
    calls = []

    def failing(**request):
        calls.append(request)
        raise UserError("vgg19 weights not found (use --set features=random), or set the genstudio setting "
                        "weights.vgg19")

    monkeypatch.setattr(operation, "check_training", failing)
    assert dialog.queue_run() is None
    assert calls and calls[0]["backend"] == "dcgan" and calls[0]["resolution"] == dialog.resolution.currentData()
    text = dialog.error.text()
    assert "--set" not in text and "weights.vgg19" not in text and '"VGG19 weights" in Settings' in text
    assert window.queue.list() == []


def test_values_are_remembered_per_backend(window, qtbot, tmp_path):
    data = _grey_classes(tmp_path / "data")
    dialog = _form(window, qtbot, "dcgan", str(data))
    dialog.steps.setValue(1234)
    dialog.resolution.setCurrentIndex(dialog.resolution.findData(64))
    dialog.form.set_values({"ngf": 12, "loss": "hinge"})
    dialog.close()  # cancelling keeps what was typed

    again = _form(window, qtbot, None)
    assert again.backend_id() == "dcgan"
    assert again.data.text() == str(data) and again.steps.value() == 1234
    assert again.resolution.currentData() == 64
    assert again.form.values()["ngf"] == 12 and again.form.values()["loss"] == "hinge"
    again.backend.setCurrentIndex(again.backend.findData("vae"))  # another backend: its own (default) values
    assert again.form.values()["resolution" if "resolution" in again.form.editors else "latent_dim"] is not None
    assert again.steps.value() == 1234  # shared fields stay as typed
    again.backend.setCurrentIndex(again.backend.findData("dcgan"))
    assert again.form.values()["ngf"] == 12


def test_each_run_gets_its_own_folder_and_the_form_keeps_its_values(window, qtbot, tmp_path):
    from genstudio.gui.library_data import set_models_folder

    set_models_folder(tmp_path / "models")
    data = _grey_classes(tmp_path / "data")
    window.library.select("backend", lambda backend: backend == "dcgan")
    window.params.form.set_values({"ngf": 8, "ndf": 24})
    dialog = window.train()
    qtbot.addWidget(dialog)
    assert not dialog.isModal() and dialog.form.values()["ngf"] == 8  # starts from the panel's settings
    dialog.data.setText(str(data))
    dialog.scan()
    dialog.steps.setValue(7)
    first = dialog.queue_run()
    second = dialog.queue_run()  # the same second: still another folder
    assert first and second and first["out"] != second["out"]
    assert [job.params["out"] for job in window.queue.list()] == [first["out"], second["out"]]
    assert second["config"] == {"ngf": 8, "ndf": 24} and second["steps"] == 7  # the form did not reset
    assert window.params.form.values()["ngf"] == 8 and window.params.form.values()["ndf"] == 24  # nor the panel
    assert window.train() is dialog  # one form, raised again


def test_unique_run_folder_counts_up(tmp_path):
    from genstudio.gui.train_dialog import unique_run_folder

    moment = dt.datetime(2024, 5, 1, 12, 0, 0)
    first = unique_run_folder(tmp_path, "dcgan", now=moment)
    first.mkdir()
    second = unique_run_folder(tmp_path, "dcgan", now=moment)
    third = unique_run_folder(tmp_path, "dcgan", {second}, now=moment)
    assert (first.name, second.name, third.name) == ("dcgan-20240501-120000", "dcgan-20240501-120000-2",
                                                     "dcgan-20240501-120000-3")


def test_check_training_refuses_without_reading_pixels(tmp_path, registry):
    from genstudio.operations.train import check_training

    data = _grey_classes(tmp_path / "data")
    with pytest.raises(UserError, match="32, 64, 128"):
        check_training(backend="dcgan", data=data, resolution=48)
    checked = check_training(backend="cgan", data=data, resolution=32)
    assert checked.derived == {"channels": 1, "num_classes": 2} and checked.config["num_classes"] == 2


def test_the_parameters_panel_offers_only_accepted_values_too(qtbot, registry):
    from genstudio.gui.params import SchemaForm

    form = SchemaForm(registry.backend("dcgan").schema)
    qtbot.addWidget(form)
    editor = form.editors["resolution"]
    assert [editor.itemText(i) for i in range(editor.count())] == ["32", "64", "128"]
    form.set_values({"resolution": 128})
    assert form.values()["resolution"] == 128 and form.labels["diffaugment"].text() == "DiffAugment"
