"""The caption box: completion from a caption model's vocabulary, unknown words shown; in the main window it appears
for a text2image model only, and Generate draws the caption the CLI would (same pixels, same record)."""

from __future__ import annotations

import numpy as np

from genstudio.provenance import without_time

TINY = {"resolution": 16, "channels": 3, "ngf": 4, "ndf": 4, "latent_dim": 4, "word_dim": 4, "text_width": 8,
        "embed_dim": 8, "max_tokens": 12, "vocabulary": "a small red circle square on the left"}


def make_text2image(folder, registry):
    import torch

    from genstudio.models import save_model

    spec = registry.backend("text2image")
    config = spec.schema.resolve(TINY)
    torch.manual_seed(0)
    save_model(folder, spec, config, spec.load().build(config).state_dict())
    return folder


def test_completion_and_unknown_words(qtbot):
    from genstudio.gui.caption_box import CaptionBox

    box = CaptionBox()
    qtbot.addWidget(box)
    box.set_vocabulary(["small", "square", "red", "circle"], 6)
    assert box.isVisibleTo(box.parentWidget() or box)
    qtbot.keyClicks(box.edit, "a sq")
    assert box.completer.completionPrefix() == "sq" and box.completer.currentCompletion() == "square"
    box.complete_with("square")
    assert box.edit.text() == "a square "
    assert box.unknown_words() == ["a"] and "spelt letter by letter: a" in box.status.text()
    box.edit.setText("small red circel")
    assert box.unknown_words() == ["circel"] and "too long" in box.status.text()  # 2 words + 6 letters + end
    box.edit.setText("small red circle")
    assert box.status.text() == "" and box.caption() == "small red circle"
    box.set_vocabulary(None)
    assert box.caption() is None and not box.isVisibleTo(box.parentWidget() or box)


def test_the_window_shows_the_box_for_a_caption_model_and_generates_like_the_cli(window, qtbot, registry, tmp_path):
    from typer.testing import CliRunner

    from genstudio.cli import app
    from genstudio.provenance import read_provenance

    model = make_text2image(tmp_path / "t2i", registry)
    options = window.params.options
    assert not options.caption_row.isVisibleTo(window)
    window.open_model_folder(str(model))
    qtbot.waitUntil(lambda: options.caption_row.isVisibleTo(window), timeout=30000)
    assert options.caption.completer.model().stringList()[:3] == ["a", "small", "red"]
    options.caption.edit.setText("a small red circle")
    options.count.setValue(2)
    options.seed.setValue(3)
    options.lock.setChecked(True)
    task = window.generate()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 2)
    made = window.content.images[1]
    assert made.record["parameters"]["caption"] == "a small red circle"
    result = CliRunner().invoke(app, ["generate", str(model), "--caption", "a small red circle", "-n", "2", "--seed",
                                      "3", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    (cli_file,) = [p for p in (tmp_path / "cli").iterdir() if p.name.startswith("seed3-00001")]
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(cli_file)), made.pixels.reshape(np.asarray(Image.open(cli_file)).shape))
    assert without_time(read_provenance(cli_file)) == without_time(made.record)
