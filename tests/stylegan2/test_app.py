"""The app's controls for a style-based generator (pytest-qt, offscreen): the truncation slider, the cutoff and the
style-mixing grid, and that a grid cell is the image `genstudio generate --mix-with --mix-from` makes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from genstudio.provenance import read_provenance, without_time  # noqa: E402

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


def test_truncation_slider_and_style_controls(qtbot):
    from genstudio.errors import UserError
    from genstudio.gui.params import GenerationOptions, parse_seeds

    options = GenerationOptions()
    qtbot.addWidget(options)
    options.truncation_slider.setValue(70)
    assert options.truncation.value() == pytest.approx(0.7) and options.options()["truncation"] == 0.7
    options.truncation.setValue(0.25)
    assert options.truncation_slider.value() == 25
    assert not options.mixing.isVisibleTo(options) and options.mixing_request() is None  # not style-based
    assert options.truncation_cutoff() is None
    options.set_style_layers(6)
    assert options.mixing.isVisibleTo(options) and options.cutoff.isVisibleTo(options)
    assert (options.crossover.minimum(), options.crossover.maximum(), options.crossover.value()) == (1, 5, 3)
    options.cutoff.setValue(2)
    assert options.truncation_cutoff() == 2
    options.mixing.setChecked(True)
    options.row_seeds.setText("4, 7-8")
    options.column_seeds.setText("1")
    assert options.mixing_request() == {"row_seeds": [4, 7, 8], "column_seeds": [1], "layer": 3}
    options.column_seeds.setText("x")
    with pytest.raises(UserError):
        options.mixing_request()
    assert parse_seeds(" 3 ,5-6,") == [3, 5, 6]
    options.set_style_layers(0)
    assert not options.mixing.isChecked() and options.mixing_request() is None


def test_a_grid_cell_is_the_cli_image(model, tmp_path, single_torch_thread):
    from typer.testing import CliRunner

    from genstudio.cli import app
    from genstudio.gui.sampling import Source, mixing_grid

    cells = list(mixing_grid(Source("stylegan2", model), row_seeds=[1, 2], column_seeds=[5, 6, 7], layer=2,
                             truncation=0.8))
    assert [cell.record["parameters"]["seed"] for cell in cells] == [1, 1, 1, 2, 2, 2]
    assert [cell.record["parameters"]["mix_with"] for cell in cells] == [5, 6, 7] * 2
    result = CliRunner().invoke(app, ["generate", str(model), "--seed", "2", "--count", "1", "--mix-with", "6",
                                      "--mix-from", "2", "--truncation", "0.8", "--out", str(tmp_path / "cli"),
                                      "--device", "cpu"])
    assert result.exit_code == 0, result.output
    made = tmp_path / "cli" / "seed2-00000-psi0.8-mix6from2.png"
    from PIL import Image

    with Image.open(made) as image:
        assert np.array_equal(np.asarray(image), cells[4].pixels)
    assert without_time(read_provenance(made)) == without_time(cells[4].record)
    assert len({cell.pixels.tobytes() for cell in cells}) == 6  # every cell differs


def test_the_window_generates_a_mixing_grid_with_the_slider_truncation(window, qtbot, model, single_torch_thread):
    window.open_model_folder(str(model))
    options = window.params.options
    qtbot.waitUntil(lambda: options.style_layers == 4, timeout=20000)  # 8 px: 4 style layers, found off-thread
    assert options.mixing.isVisibleTo(options) and options.crossover.maximum() == 3
    options.truncation_slider.setValue(60)
    options.cutoff.setValue(2)
    options.mixing.setChecked(True)
    options.row_seeds.setText("3, 4")
    options.column_seeds.setText("9, 10")
    options.crossover.setValue(1)
    task = window.generate()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 4)
    parameters = [image.record["parameters"] for image in window.content.images]
    assert [(p["seed"], p["mix_with"], p["mix_from"]) for p in parameters] == [(3, 9, 1), (3, 10, 1), (4, 9, 1),
                                                                               (4, 10, 1)]
    assert {(p["truncation"], p["truncation_cutoff"]) for p in parameters} == {(0.6, 2)}
