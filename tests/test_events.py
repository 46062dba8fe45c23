import json

import pytest

from genstudio.errors import Cancelled
from genstudio.events import Event, EventCollector, Progress


def test_progress_emits_begin_progress_log_end_in_order():
    sink = EventCollector()
    progress = Progress(sink, "Training", total=3)
    for step in range(3):
        progress.update(step + 1, loss=1.0 / (step + 1))
    progress.log("checkpoint written", level="info")
    progress.finish("trained")
    kinds = [event.kind for event in sink.events]
    assert kinds == ["begin", "progress", "progress", "progress", "log", "end"]
    last_progress = sink.of_kind("progress")[-1]
    assert (last_progress.done, last_progress.total) == (3, 3)
    assert last_progress.stats["loss"] == pytest.approx(1 / 3)
    assert sink.of_kind("end")[0].message == "trained"


def test_advance_accumulates_and_stats_merge():
    sink = EventCollector()
    progress = Progress(sink, "Batch", total=None, done=10)
    progress.update(advance=2, images_per_s=5.0)
    progress.update(advance=3, failed=1)
    event = sink.events[-1]
    assert event.done == 15
    assert event.stats == {"images_per_s": 5.0, "failed": 1}


def test_check_abort_raises_cancelled_only_when_asked():
    flag = {"stop": False}
    progress = Progress(None, "Work", abort=lambda: flag["stop"])
    progress.check_abort()
    flag["stop"] = True
    with pytest.raises(Cancelled):
        progress.check_abort()


def test_event_json_round_trip():
    event = Event("progress", "Training", 3, 10, {"loss": 0.5}, "", "info", 123.0)
    assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_progress_bar_prints_log_text_as_text(capsys):
    """Untrusted text (a file name, a plugin's message) in a log line is not read as rich markup."""
    from genstudio.cli.progress import ProgressBar
    from genstudio.events import Event

    with ProgressBar(enabled=False) as bar:
        bar(Event("log", "Reading", message="skipped [red]x[/red].png: not an image", level="warning"))
    assert "skipped [red]x[/red].png: not an image" in capsys.readouterr().err
