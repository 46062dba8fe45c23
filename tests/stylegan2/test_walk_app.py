"""The app's Latent walk dialog (pytest-qt, offscreen) on a style-based generator: opened from the main window with
the Generate panel's truncation and cutoff, previewed, and exported to the very bytes `genstudio walk` writes."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from genstudio.provenance import without_time  # noqa: E402

TINY = {"resolution": 8, "channels": 3, "latent_dim": 4, "w_dim": 4, "channel_base": 32, "channel_max": 4,
        "mapping_layers": 2}


@pytest.fixture
def model(tmp_path):
    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry(refresh=True).backend("stylegan2")
    config = spec.schema.resolve(TINY)
    torch.manual_seed(0)
    module = spec.load().build(config)
    with torch.no_grad():  # an untrained G has noise strength 0 and w_avg 0: give both a value
        module.mapping.w_avg.normal_()
        for layer in module.synthesis.noise_layers:
            layer.noise_strength.fill_(0.5)
    save_model(tmp_path / "sg2", spec, config, module.state_dict())
    return tmp_path / "sg2"


@pytest.fixture
def window(qtbot, tmp_path):
    from genstudio.gui.main_window import MainWindow
    from genstudio.jobs import JobQueue
    from genstudio.plugins import get_registry

    win = MainWindow(JobQueue(tmp_path / "jobs.sqlite3"), start_worker=False, registry=get_registry(refresh=True))
    qtbot.addWidget(win)
    yield win
    win.close()


@pytest.fixture(autouse=True)
def fresh_sampler_cache():
    from genstudio.gui import sampling

    yield
    sampling._cache.clear()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_walk_dialog_previews_and_exports_the_cli_animation(window, qtbot, model, tmp_path,
                                                                single_torch_thread):
    from typer.testing import CliRunner

    from genstudio.cli import app

    assert not window.walk_action.isEnabled()  # nothing selected yet
    window.open_model_folder(str(model))
    options = window.params.options
    qtbot.waitUntil(lambda: options.style_layers == 4, timeout=20000)
    assert window.walk_action.isEnabled()
    options.truncation_slider.setValue(70)
    options.cutoff.setValue(2)
    dialog = window.open_latent_walk()
    assert dialog is not None and dialog.mix_layer.maximum() == 3
    dialog.seeds.setText("2, 5-6")
    dialog.frames.setValue(7)
    dialog.loop.setChecked(True)
    dialog.fps.setValue(5)
    dialog.mix.setChecked(True)
    dialog.mix_seed.setValue(9)
    dialog.mix_layer.setValue(2)
    task = dialog.run()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: dialog.walk is not None)
    assert len(dialog.walk.frames) == 7 and dialog.preview.pixmap() is not None
    assert dialog.preview.pixmap().width() == 256  # 8 px scaled up for the preview
    assert dialog.export_button.isEnabled()
    parameters = dialog.walk.record["parameters"]
    assert parameters["seeds"] == [2, 5, 6] and (parameters["truncation"], parameters["truncation_cutoff"]) == (0.7, 2)
    assert (parameters["mix_with"], parameters["mix_from"], parameters["loop"]) == (9, 2, True)

    dialog.export(tmp_path / "app.gif")
    result = CliRunner().invoke(app, ["walk", str(model), "--seeds", "2,5,6", "--frames", "7", "--loop", "--fps", "5",
                                      "--truncation", "0.7", "--truncation-cutoff", "2", "--mix-with", "9",
                                      "--mix-from", "2", "--device", "cpu", "--out", str(tmp_path / "cli.gif")])
    assert result.exit_code == 0, result.output
    assert digest(tmp_path / "app.gif") == digest(tmp_path / "cli.gif")
    app_record = json.loads((tmp_path / "app.gif.json").read_text())
    cli_record = json.loads((tmp_path / "cli.gif.json").read_text())
    assert without_time(app_record) == without_time(cli_record)

    dialog.fps.setValue(10)  # a new speed needs no new frames; the record says it
    files = dialog.export(tmp_path / "frames", "frames")
    assert len(files) == 8 and json.loads((tmp_path / "frames" / "animation.json").read_text())["fps"] == 10
    dialog.close()


def test_bad_seeds_are_one_line_in_the_dialog(qtbot, model):
    from genstudio.gui.sampling import Source
    from genstudio.gui.walk_dialog import LatentWalkDialog

    dialog = LatentWalkDialog(Source("stylegan2", model), style_layers=4)
    qtbot.addWidget(dialog)
    dialog.seeds.setText("4")
    assert dialog.run() is None and "at least 2 seeds" in dialog.status.text()
    dialog.seeds.setText("1, x")
    assert dialog.run() is None and "x" in dialog.status.text()
    with pytest.raises(Exception, match="preview the walk first"):
        dialog.export("walk.gif")
