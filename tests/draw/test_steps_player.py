"""The app's steps player (pytest-qt, offscreen): draw a tiny DRAW model's steps, scrub and play them, export the
animation the command line writes, and the main window's "Drawing steps…" action for DRAW models only."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


@pytest.fixture
def player(qtbot, model):
    from genstudio.gui.sampling import Source
    from genstudio.gui.steps_player import StepsPlayer

    dialog = StepsPlayer(Source("draw", model))
    qtbot.addWidget(dialog)
    yield dialog
    dialog.close()


def drawn(qtbot, player, seed: int = 3, index: int = 1, count: int = 2):
    player.seed.setValue(seed)
    player.index.setValue(index)
    player.count.setValue(count)
    task = player.run()
    assert task is not None
    qtbot.waitUntil(lambda: player.export_button.isEnabled() or "error" in player.status.text().lower(),
                    timeout=60_000)
    return player


def test_the_player_shows_scrubs_and_plays_every_step(qtbot, player, single_torch_thread):
    drawn(qtbot, player)
    assert player.steps == 4 and player.slider.maximum() == 4 and player.slider.value() == 4  # the finished image
    assert player.step_label.text() == "step 4 / 4"
    last = player.preview.pixmap().toImage()
    player.slider.setValue(1)
    assert player.step_label.text() == "step 1 / 4"
    assert player.preview.pixmap().toImage() != last  # the first canvas is not the finished drawing
    player.fps.setValue(50.0)
    player.toggle_play()
    assert player.timer.isActive() and player.play_button.text() == "Pause"
    seen = set()
    qtbot.waitUntil(lambda: seen.add(player.slider.value()) or len(seen) == 4, timeout=10_000)
    player.toggle_play()
    assert not player.timer.isActive() and player.play_button.text() == "Play"


def test_export_writes_what_the_command_line_writes(qtbot, player, model, tmp_path, single_torch_thread):
    from typer.testing import CliRunner

    from genstudio.cli import app

    drawn(qtbot, player, seed=3, index=1, count=2)
    player.fps.setValue(5.0)  # changed after drawing: applies to the export
    files = player.export(tmp_path / "app.gif")
    assert files[0] == tmp_path / "app.gif"
    result = CliRunner().invoke(app, ["draw-steps", str(model), "--seed", "3", "--start", "1", "--count", "2",
                                      "--fps", "5", "--out", str(tmp_path / "cli.gif"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "app.gif").read_bytes() == (tmp_path / "cli.gif").read_bytes()
    frames = player.export(tmp_path / "frames", "frames")
    assert len([path for path in frames if path.suffix == ".png"]) == 4


def test_the_action_is_offered_for_models_that_draw_in_steps_only(qtbot, model, tmp_path):
    from genstudio.gui.steps_player import why_not_steps
    from genstudio.jobs import JobQueue
    from genstudio.plugins import get_registry

    registry = get_registry(refresh=True)
    assert why_not_steps(registry.backend("draw"), True) == ""
    assert "needs training" in why_not_steps(registry.backend("draw"), False)
    assert "does not draw in steps" in why_not_steps(registry.backend("vae"), True)
    from genstudio.gui.main_window import MainWindow

    window = MainWindow(JobQueue(tmp_path / "jobs.sqlite3"), start_worker=False, registry=registry)
    qtbot.addWidget(window)
    try:
        assert not window.steps_action.isEnabled()  # nothing selected
        assert window.open_steps_player() is None
        window.library.select("backend", lambda backend: backend == "draw")
        assert not window.steps_action.isEnabled()  # not trained
    finally:
        window.close()
