"""The Stylize box's picker for declared choice inputs (genstudio.gui.choice_picker), with the example plugin's
ONNX-only multi-style backend `tinystyle`: the picker lists the declared styles, blends them, sends the CLI's
request (same pixels and provenance as `genstudio stylize --style ...` and the stylize-folder job), remembers the
last choice per backend and is set back by Reuse settings; a stylizer without choice inputs shows none."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genstudio.inputs import InputKind, InputSpec, choose
from genstudio.provenance import read_provenance, without_time

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "genstudio-plugin-example"
STYLES = ("ember", "glacier", "moss", "dusk")  # tinystyle's declared choices, in its order


@pytest.fixture
def example(use_plugins, monkeypatch):
    """A registry of the example plugin (tinystyle, its graph as package data) and the built-in style plugin
    (gatys, a stylizer without choice inputs)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in [name for name in sys.modules if name.startswith("genstudio_example")]:
        monkeypatch.delitem(sys.modules, name)  # the checkout's copy, not an installed one
    import genstudio_example
    import genstudio_style

    return use_plugins(example=genstudio_example, style=genstudio_style)


@pytest.fixture
def make_window(qtbot, example, queue):
    from genstudio.gui.main_window import MainWindow

    made = []

    def make():
        window = MainWindow(queue, start_worker=False, registry=example)
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photos" / "photo.png"
    path.parent.mkdir()
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (22, 30, 3), dtype=np.uint8)).save(path)
    return path


def pickers(window):
    return window.params.style.choices.pickers


def stylize_in_app(window, qtbot, photo):
    window.params.style.set_content(photo)
    window.params.style.max_size.setValue(0)
    task = window.stylize()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=60000):
        pass
    qtbot.waitUntil(lambda: window.content.mode == "split")
    return window.content.images[1]


def cli_stylize(photo, out, style):
    from genstudio.cli import app

    result = CliRunner().invoke(app, ["stylize", "tinystyle", str(photo), "--out", str(out), "--style", style])
    assert result.exit_code == 0, result.output
    made = out / photo.name
    with Image.open(made) as image:
        return np.asarray(image.convert("RGB")), read_provenance(made)


def test_the_picker_lists_the_declared_styles_and_gives_the_cli_s_pixels(make_window, qtbot, photo, tmp_path):
    window = make_window()
    assert window.library.select("backend", lambda backend: backend == "tinystyle")
    params = window.params
    assert params.style_box.isVisibleTo(params) and params.style_box.title() == "Stylize"
    picker = pickers(window)["style"]
    assert picker.isVisibleTo(params) and not params.style.style_button.isVisibleTo(params)  # no style image
    assert [picker.combo.itemText(i) for i in range(picker.combo.count())] == list(STYLES)
    assert picker.blend.isVisibleTo(params) and not picker.mix.isVisibleTo(params)

    picker.combo.setCurrentIndex(STYLES.index("moss"))
    moss = stylize_in_app(window, qtbot, photo)
    assert moss.record["parameters"]["style"] == "moss" and moss.record["runtime"] == "onnx"
    pixels, record = cli_stylize(photo, tmp_path / "cli-moss", "moss")
    assert np.array_equal(moss.pixels[:, :, :3], pixels)
    assert without_time(moss.record) == without_time(record)

    picker.blend.setChecked(True)  # a mix starts from the chosen style alone
    assert picker.mix.isVisibleTo(params) and not picker.combo.isVisibleTo(params)
    assert [picker.sliders[name].value() for name in STYLES] == [0, 0, 100, 0]
    picker.sliders["ember"].setValue(100)
    picker.sliders["moss"].setValue(100)
    picker.sliders["dusk"].setValue(50)
    assert [picker.shares[name].text() for name in STYLES] == ["40%", "0%", "40%", "20%"]
    mix = stylize_in_app(window, qtbot, photo)
    assert mix.record["parameters"]["style"] == "ember:0.4,moss:0.4,dusk:0.2"  # choose()'s canonical text
    pixels, record = cli_stylize(photo, tmp_path / "cli-mix", "ember:0.4,moss:0.4,dusk:0.2")
    assert np.array_equal(mix.pixels[:, :, :3], pixels) and not np.array_equal(mix.pixels, moss.pixels)
    assert without_time(mix.record) == without_time(record)
    picker.sliders["ember"].setValue(10)
    picker.sliders["moss"].setValue(20)
    picker.blend.setChecked(False)  # one style again: the mix's heaviest
    assert picker.combo.isVisibleTo(params) and picker.value() == "dusk"


def test_the_folder_job_carries_the_choice(make_window, photo, tmp_path):
    """The folder action queues the picker's value, unchanged by the queue (a mix is no path), and the job
    runner writes what the CLI writes."""
    from genstudio.jobs.builtin import run_stylize_folder

    window = make_window()
    window.library.select("backend", lambda backend: backend == "tinystyle")
    picker = pickers(window)["style"]
    picker.set_value("glacier:1,dusk:2")  # a mix the sliders' whole percents cannot hold exactly
    assert [picker.sliders[name].value() for name in STYLES] == [0, 33, 0, 67]
    window.params.style.max_size.setValue(0)
    job = window.queue.get(window.queue_kind("stylize-folder", folder=str(photo.parent)))
    assert job.kind == "stylize-folder" and job.params["style"] == "glacier:333333,dusk:666667"
    run_stylize_folder(job.params, lambda event: None, lambda: False)
    queued = Path(job.params["out"]) / photo.name
    pixels, record = cli_stylize(photo, tmp_path / "cli", "glacier:1,dusk:2")
    with Image.open(queued) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), pixels)
    assert record["parameters"]["style"] == "glacier:0.333333,dusk:0.666667"
    assert without_time(read_provenance(queued)) == without_time(record)


def test_the_last_choice_is_remembered_per_backend_and_a_stylizer_without_choices_shows_none(make_window):
    window = make_window()
    window.library.select("backend", lambda backend: backend == "tinystyle")
    pickers(window)["style"].combo.setCurrentIndex(STYLES.index("dusk"))
    assert window.library.select("backend", lambda backend: backend == "gatys")
    assert window.params.style_box.isVisibleTo(window.params) and pickers(window) == {}
    assert window.params.style.options()["choices"] == {}
    window.library.select("backend", lambda backend: backend == "tinystyle")
    assert window.params.style.options()["choices"] == {"style": "dusk"}
    pickers(window)["style"].set_value("ember:0.25,moss:0.75")
    window.close()

    again = make_window()  # a new session
    again.library.select("backend", lambda backend: backend == "tinystyle")
    picker = pickers(again)["style"]
    assert picker.blend.isChecked() and choose(picker.spec, picker.value()) == "ember:0.25,moss:0.75"


def test_reuse_settings_sets_the_recorded_choice_back(make_window, qtbot, photo):
    window = make_window()
    window.library.select("backend", lambda backend: backend == "tinystyle")
    picker = pickers(window)["style"]
    picker.set_value("ember:3,glacier:1")
    made = stylize_in_app(window, qtbot, photo)
    window.finish_history()
    (entry,) = [entry for entry in window.history.entries if entry.record == made.record]
    picker.set_value("dusk")
    window.library.select("backend", lambda backend: backend == "gatys")

    assert window.reuse_entry(entry)
    assert window.selection[1].id == "tinystyle"
    picker = pickers(window)["style"]
    assert picker.blend.isChecked() and picker.value() == "ember:75,glacier:25"
    assert window.params.style.options()["choices"] == {"style": "ember:75,glacier:25"}


def test_a_recorded_choice_the_backend_does_not_offer_is_one_line(example):
    from genstudio.errors import UserError
    from genstudio.history import reuse_settings

    record = {"backend": "tinystyle", "model": "tinystyle", "config": {}, "parameters": {"style": "sepia"}}
    with pytest.raises(UserError, match=r"^the image's recorded style 'sepia' is not one tinystyle offers$"):
        reuse_settings(record, example)
    record["parameters"]["style"] = "3"  # an index: kept as the name it stands for
    assert reuse_settings(record, example).options["choices"] == {"style": "dusk"}


def test_a_picker_without_blend_offers_no_mix(qtbot):
    from genstudio.errors import UserError
    from genstudio.gui.choice_picker import ChoicePicker, whole_weights

    spec = InputSpec(InputKind.CHOICE, name="palette", choices=("warm", "cold"), help="Which palette.")
    picker = ChoicePicker(spec)
    qtbot.addWidget(picker)
    assert picker.sliders == {} and not picker.blend.isVisibleTo(picker)
    picker.set_value("1")
    assert picker.value() == "cold"
    with pytest.raises(UserError, match="--palette must be one of warm, cold"):
        picker.set_value("warm:0.5,cold:0.5")
    mix = InputSpec(InputKind.CHOICE, name="style", choices=STYLES, blend=True)
    for value in ("moss", "ember:0.25,moss:0.75", "glacier:1,dusk:2", "ember:1,moss:99999", "0:1,1:1,2:1"):
        whole = whole_weights(mix, value)
        assert "." not in whole and choose(mix, whole) == choose(mix, value)
