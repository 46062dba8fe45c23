"""The panels on their own: schema form, queue table, training view, plugin manager, train dialog."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from genstudio.schema import ConfigField, ConfigSchema

SCHEMA = ConfigSchema([
    ConfigField("width", "int", 8, "How wide the network is.", min=1, max=64),
    ConfigField("rate", "float", 0.0002, "Learning rate.", min=0.0, max=1.0),
    ConfigField("norm", "bool", True, "Use normalisation."),
    ConfigField("loss", "choice", "hinge", "Loss function.", choices=("hinge", "lsgan")),
    ConfigField("tag", "str", "x", "A free text.", label="Run tag"),
])


# ------------------------------------------------------------------ parameters form


def test_schema_form_types_ranges_tooltips_and_values(qtbot):
    from genstudio.gui.params import SchemaForm

    form = SchemaForm(SCHEMA)
    qtbot.addWidget(form)
    editors = form.editors
    assert isinstance(editors["width"], QSpinBox)
    assert (editors["width"].minimum(), editors["width"].maximum()) == (1, 64)
    assert isinstance(editors["rate"], QDoubleSpinBox) and editors["rate"].value() == pytest.approx(0.0002)
    assert isinstance(editors["norm"], QCheckBox) and editors["norm"].isChecked()
    assert isinstance(editors["loss"], QComboBox) and editors["loss"].count() == 2
    assert isinstance(editors["tag"], QLineEdit)
    assert "How wide the network is." in editors["width"].toolTip() and "1 … 64" in editors["width"].toolTip()
    assert SCHEMA.resolve(form.values()) == SCHEMA.defaults()
    editors["width"].setValue(999)  # clamped to the range by the spin box
    editors["rate"].setValue(0.001)
    editors["norm"].setChecked(False)
    editors["loss"].setCurrentText("lsgan")
    editors["tag"].setText("run-2")
    resolved = SCHEMA.resolve(form.values())
    assert resolved == {"width": 64, "rate": 0.001, "norm": False, "loss": "lsgan", "tag": "run-2"}
    form.set_values({"width": 3, "loss": "hinge"})
    assert form.values()["width"] == 3 and form.values()["loss"] == "hinge"
    form.set_read_only(True, "fixed")
    assert not editors["width"].isEnabled()


def test_every_installed_backend_schema_round_trips(qtbot, registry):
    from genstudio.gui.params import SchemaForm

    for spec in registry.backends.values():
        form = SchemaForm(spec.schema)
        qtbot.addWidget(form)
        assert spec.schema.resolve(form.values()) == spec.schema.defaults(), spec.id


def test_seed_lock_and_randomise(qtbot):
    from genstudio.gui.params import GenerationOptions

    options = GenerationOptions()
    qtbot.addWidget(options)
    options.seed.setValue(42)
    assert options.seed_for_run(first_run=True) == 42
    options.lock.setChecked(True)
    assert options.seed_for_run() == 42
    options.lock.setChecked(False)
    seeds = {options.seed_for_run() for _ in range(5)}
    assert len(seeds) > 1
    assert not options.label.isVisibleTo(options)
    options.set_classes(["circle", "square"])
    assert options.label.isVisibleTo(options) and options.label.count() == 3
    options.label.setCurrentIndex(2)
    assert options.options()["label"] == 1


# ------------------------------------------------------------------ queue


def test_queue_model_follows_the_queue(qtbot, queue, tmp_path):
    from genstudio.gui.queue_model import COLUMNS, QueueModel, QueuePanel

    model = QueueModel(queue)
    panel = QueuePanel(model)
    qtbot.addWidget(panel)
    assert model.rowCount() == 0
    first = queue.add("train", {"backend": "dcgan", "data": str(tmp_path), "out": str(tmp_path / "m"), "steps": 10})
    second = queue.add("generate", {"model": str(tmp_path / "m"), "out": str(tmp_path / "g"), "count": 4})
    assert model.refresh()
    assert model.rowCount() == 2 and model.columnCount() == len(COLUMNS)
    assert model.index(0, 3).data() == "queued"
    assert "dcgan" in model.index(0, 2).data()
    assert not model.refresh()  # nothing moved: nothing re-read
    claimed = queue.claim_next(worker_pid=123)
    assert claimed.id == first
    queue.report(first, task="Training dcgan", done=5, total=10, stats={"loss_g": 1.5})
    assert model.refresh()
    assert model.index(0, 3).data() == "running"
    assert model.index(0, 4).data() == "50%"
    assert model.job(0).fraction == 0.5
    assert "loss_g 1.5" in model.index(0, 6).data()
    panel.select_job(second)
    assert panel.cancel_button.isEnabled() and not panel.retry_button.isEnabled()
    panel.cancel_button.click()
    assert queue.get(second).status == "cancelled"
    assert model.index(1, 3).data() == "cancelled"
    assert panel.retry_button.isEnabled()
    panel.retry_button.click()
    assert queue.get(second).status == "queued"
    panel.hold_button.click()
    assert queue.get(second).status == "paused" and model.index(1, 3).data() == "paused"
    panel.pause_button.click()
    assert queue.paused and panel.pause_button.text() == "Resume queue"
    panel.pause_button.click()
    assert not queue.paused


def test_reorder_waiting_jobs(qtbot, queue, tmp_path):
    from genstudio.gui.queue_model import QueueModel, QueuePanel

    ids = [queue.add("plugin-install", {"requirement": f"pkg{i}"}) for i in range(3)]
    model = QueueModel(queue)
    panel = QueuePanel(model)
    qtbot.addWidget(panel)
    panel.select_job(ids[2])
    panel.up_button.click()
    assert [job.id for job in queue.pending()] == [ids[0], ids[2], ids[1]]
    panel.down_button.click()
    assert [job.id for job in queue.pending()] == ids


def test_user_errors_from_the_queue_become_messages(qtbot, queue, tmp_path):
    from genstudio.gui.queue_model import QueueModel, QueuePanel

    job_id = queue.add("plugin-install", {"requirement": "pkg"})
    model = QueueModel(queue)
    panel = QueuePanel(model)
    qtbot.addWidget(panel)
    panel.select_job(job_id)
    queue.cancel(job_id)  # behind the panel's back: its buttons are stale
    with qtbot.waitSignal(panel.message) as signal:
        panel.cancel()
    assert "only queued, paused or running" in signal.args[0]


# ------------------------------------------------------------------ training view


def _write_metrics(path, rows):
    with open(path, "a") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def test_training_view_follows_metrics_and_samples(qtbot, tmp_path):
    from genstudio.gui.training_view import TrainingView

    run = tmp_path / "run"
    run.mkdir()
    view = TrainingView(run)
    qtbot.addWidget(view)
    assert view.chart.series == {}
    rows = [{"step": 10 * i, "loss_d": 1.0 / i, "loss_g": 2.0 + i, "images_per_s": 50.0, "lr": {"G": 2e-4},
             "elapsed": i} for i in range(1, 6)]
    _write_metrics(run / "metrics.jsonl", rows)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(run / "samples.png")
    assert view.refresh()
    assert set(view.chart.series) == {"loss_d", "loss_g"}
    assert view.chart.series["loss_g"] == [(10.0 * i, 2.0 + i) for i in range(1, 6)]
    assert "step 50" in view.stats.text()
    assert view.samples.pixmap() is not None and not view.samples.pixmap().isNull()
    assert not view.refresh()  # nothing new
    with open(run / "metrics.jsonl", "a") as handle:  # a line being written: not read until complete
        handle.write('{"step": 60, "loss_d": 0.1, "loss_g"')
    assert not view.refresh()
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write(': 9.0}\n')
    assert view.refresh()
    assert view.chart.series["loss_g"][-1] == (60.0, 9.0)
    view.chart.resize(500, 300)
    view.chart.grab()  # paints without error
    view.stop()


# ------------------------------------------------------------------ plugin manager


def test_plugin_manager_lists_plugins_and_toggling_persists(qtbot, registry):
    from genstudio.gui.plugin_manager import PluginManagerDialog
    from genstudio.plugins import get_registry
    from genstudio.settings import Settings

    dialog = PluginManagerDialog()
    qtbot.addWidget(dialog)
    names = [record.name for record in dialog.model.records]
    assert {"gan", "shapes", "style", "vae"} <= set(names)
    row = names.index("shapes")
    check = dialog.model.index(row, 0)
    assert check.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    with qtbot.waitSignal(dialog.plugins_changed):
        dialog.model.setData(check, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert "shapes" in Settings.load().disabled_plugins()
    assert get_registry().plugins["shapes"].status == "disabled"
    assert "shapes" not in get_registry().backends
    row = [record.name for record in dialog.model.records].index("shapes")
    assert dialog.model.index(row, 4).data() == "disabled"
    dialog.model.setData(dialog.model.index(row, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert "shapes" not in Settings.load().disabled_plugins()
    assert "shapes" in get_registry().backends


def test_broken_plugin_shows_its_error(qtbot, registry):
    from genstudio import paths
    from genstudio.gui.plugin_manager import PluginManagerDialog
    from genstudio.plugins import get_registry
    from tests.toys import write_plugin

    write_plugin(paths.plugin_dir(), "brokenplug", "import no_such_module_here\n")
    get_registry(refresh=True)
    dialog = PluginManagerDialog()
    qtbot.addWidget(dialog)
    row = [record.name for record in dialog.model.records].index("brokenplug")
    assert dialog.model.index(row, 4).data() == "failed"
    assert dialog.model.index(row, 3).data() == "plugin folder"
    dialog.table.selectRow(row)
    assert "no_such_module_here" in dialog.details.toPlainText()
    assert "Traceback" in dialog.details.toPlainText()


def test_plugin_install_is_queued(window, qtbot):
    dialog = window.open_plugin_manager()
    qtbot.addWidget(dialog)
    dialog.requirement.setText("some-genstudio-plugin>=1.0")
    dialog.install_button.click()
    jobs = window.queue.list()
    assert [(job.kind, job.params["requirement"]) for job in jobs] == [("plugin-install", "some-genstudio-plugin>=1.0")]
    assert window.queue_model.rowCount() == 1


# ------------------------------------------------------------------ train dialog


def test_train_dialog_scans_the_dataset_and_queues_a_job(window, qtbot, tmp_path):
    from genstudio.gui.train_dialog import TrainDialog

    data = tmp_path / "data"
    for name in ("cats", "dogs"):
        (data / name).mkdir(parents=True)
        for index in range(3):
            Image.fromarray(np.full((16, 16, 3), 40 * index, np.uint8)).save(data / name / f"{index}.png")
    (data / "cats" / "readme.txt").write_text("hello")
    dialog = TrainDialog(window.registry, "dcgan", {"ngf": 8, "ndf": 64}, str(data))
    qtbot.addWidget(dialog)
    assert dialog.backend_id() == "dcgan"
    assert dialog.image_count == 6
    info = dialog.data_info.text()
    assert "6 images in 2 classes: cats, dogs" in info and "1 file(s) will be skipped" in info
    assert dialog.preview_layout.count() == 6
    dialog.resolution.setCurrentIndex(dialog.resolution.findData(32))
    dialog.steps.setValue(20)
    params = dialog.job_params()
    assert params["backend"] == "dcgan" and params["steps"] == 20 and params["resolution"] == 32
    assert params["config"] == {"ngf": 8}  # only what differs from the defaults
    job_id = window.queue_train(params)
    job = window.queue.get(job_id)
    assert job.kind == "train" and job.status == "queued" and job.params["config"] == {"ngf": 8}
    assert window.queue_model.rowCount() == 1
    assert window.tabs.count() == 3  # the canvas, the gallery and this run's training view
    assert window.tabs.currentWidget().folder.name == params["out"].split("/")[-1]
    assert window.library_model.count("model") == 1  # the run folder, listed as training


def test_train_dialog_says_what_is_missing(window, qtbot, tmp_path):
    from genstudio.errors import UserError
    from genstudio.gui.train_dialog import TrainDialog

    dialog = TrainDialog(window.registry, "dcgan")
    qtbot.addWidget(dialog)
    with pytest.raises(UserError, match="pick a dataset folder"):
        dialog.job_params()
    dialog.data.setText(str(tmp_path / "missing"))
    assert not dialog.scan()
    assert "not found" in dialog.data_info.text()
    (tmp_path / "data").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "data" / "a.png")
    dialog.data.setText(str(tmp_path / "data"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "metrics.jsonl").write_text("")
    dialog.out.setText(str(tmp_path / "used"))
    with pytest.raises(UserError, match="not empty"):
        dialog.job_params()


# ------------------------------------------------------------------ settings


def test_settings_dialog_saves_and_the_app_uses_it(qtbot, registry, tmp_path):
    from genstudio.gui import library_data
    from genstudio.gui.settings_dialog import DEVICE_KEY, THEME_KEY, SettingsDialog, app_device
    from genstudio.settings import Settings

    dialog = SettingsDialog(registry)
    qtbot.addWidget(dialog)
    assert "weights.vgg19" in dialog.weights  # named by the style backends' WeightsRef
    dialog.device.setCurrentText("cpu")
    dialog.models.setText(str(tmp_path / "my-models"))
    dialog.weights["weights.vgg19"].setText(str(tmp_path / "vgg19.pth"))
    dialog.theme.setCurrentText("dark")
    dialog.save()
    settings = Settings.load()
    assert settings.get(DEVICE_KEY) == "cpu" and app_device() == "cpu"
    assert settings.get("weights.vgg19") == str(tmp_path / "vgg19.pth")
    assert settings.get(THEME_KEY) == "dark"
    assert library_data.models_folder() == tmp_path / "my-models"
    from genstudio.gui.settings_dialog import apply_theme

    apply_theme("light")


def test_library_finds_models_under_the_models_folder(qtbot, registry, tmp_path):
    from genstudio.gui import library_data
    from genstudio.gui.library import LibraryModel
    from tests.gui.conftest import make_dcgan

    root = tmp_path / "models"
    make_dcgan(root / "a", registry)
    make_dcgan(root / "group" / "b", registry)
    (root / "run").mkdir()
    (root / "run" / "metrics.jsonl").write_text('{"step": 5, "loss_g": 1.0}\n')
    library_data.set_models_folder(root)
    entries = library_data.find_models()
    assert sorted(entry.name for entry in entries) == ["a", "b", "run"]
    run = next(entry for entry in entries if entry.name == "run")
    assert run.training and "step 5" in run.summary()
    model = LibraryModel()
    model.populate(registry, entries, {(root / "run").resolve(): "dcgan"})
    assert model.count("model") == 3
    index = model.find("model", lambda entry: entry.name == "run")
    assert index.parent().data().startswith("DCGAN")  # a run is listed under its backend before model.json exists


def test_the_gui_models_are_qt_free():
    """content, library_data, metrics_log and sampling are the app's models: importable without Qt."""
    import subprocess
    import sys

    code = ("import sys, genstudio.gui, genstudio.gui.content, genstudio.gui.library_data, "
            "genstudio.gui.metrics_log, genstudio.gui.sampling; print('PySide6' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_queue_log_shows_the_jobs_output(qtbot, queue):
    from PySide6.QtWidgets import QPlainTextEdit

    from genstudio.gui.queue_model import QueueModel, QueuePanel

    job_id = queue.add("plugin-install", {"requirement": "pkg"})
    queue.claim_next()
    queue.report(job_id, log_tail="Collecting pkg\nERROR: no such package\n")
    model = QueueModel(queue)
    panel = QueuePanel(model)
    qtbot.addWidget(panel)
    panel.select_job(job_id)
    assert panel.log_button.isEnabled()
    dialog = panel.show_log()
    qtbot.addWidget(dialog)
    assert "ERROR: no such package" in dialog.findChild(QPlainTextEdit).toPlainText()
    assert "ERROR: no such package" in model.index(0, 6).data(Qt.ItemDataRole.ToolTipRole)
