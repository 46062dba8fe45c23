"""Live previews outside training: a folder batch reports each image (a rate that is never 0 once one is done,
the last finished output), an optimisation's own steps become a fraction of the image it makes, and Gatys writes
its current image every few seconds through the event API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from genstudio.batch.inputs import collect
from genstudio.batch.pipeline import InnerProgress, Processor, run_batch
from genstudio.events import LAST_OUTPUT, PREVIEW, EventCollector, Progress


def _photos(folder: Path, count: int = 3, side: int = 16) -> Path:
    folder.mkdir(parents=True)
    for index in range(count):
        Image.fromarray(np.full((side, side + index, 3), 40 * index, np.uint8)).save(folder / f"{index}.png")
    return folder


def _record(item, digest):
    return {"backend": "test", "input_sha256": digest}


def test_folder_batch_reports_each_image_with_its_output(tmp_path):
    inputs = _photos(tmp_path / "in")
    items, passed_over = collect([inputs], tmp_path / "out")
    events = EventCollector()
    processor = Processor("Inverting", lambda batch: 1.0 - batch, _record, max_batch=1)
    summary = run_batch(items, processor, tmp_path / "out", progress=events, workers=1)
    assert summary.written == 3
    progress = events.of_kind("progress")
    done = [event.done for event in progress]
    assert done == sorted(done) and {1.0, 2.0, 3.0} <= set(done)  # one step per image
    rates = [event.stats["images_per_s"] for event in progress if "images_per_s" in event.stats]
    assert rates and min(rates) > 0
    last = progress[-1].stats[LAST_OUTPUT]
    assert Path(last).is_file() and Path(last).parent == (tmp_path / "out").resolve()


def test_an_optimisations_steps_are_a_fraction_of_its_image(tmp_path):
    inputs = _photos(tmp_path / "in", count=2)
    items, _ = collect([inputs], tmp_path / "out")
    inner = InnerProgress()
    preview = tmp_path / "preview.png"
    preview.write_bytes(b"")

    def optimise(batch):
        steps = Progress(inner, "Optimising", total=4)
        for _ in range(4):
            steps.update(advance=1, loss=0.5, **{PREVIEW: str(preview)})
        steps.finish()
        return batch

    events = EventCollector()
    processor = Processor("Optimising", optimise, _record, max_batch=1, inner=inner)
    run_batch(items, processor, tmp_path / "out", progress=events, workers=1)
    assert {event.task for event in events.events} == {"Optimising"}  # the inner begin/end never show
    done = [event.done for event in events.of_kind("progress")]
    assert done[:3] == [0.25, 0.5, 0.75] and 1.25 in done and done == sorted(done)
    assert all(0 <= value <= 2 for value in done)
    inner_events = [event for event in events.of_kind("progress") if PREVIEW in event.stats]
    assert inner_events and inner_events[0].stats["loss"] == 0.5


def test_gatys_shows_its_current_image_as_it_goes(tmp_path, monkeypatch, single_torch_thread):
    import genstudio_style.gatys as gatys

    from genstudio.batch.stylize import stylize_folder

    monkeypatch.setattr(gatys, "PREVIEW_SECONDS", 0.0)  # every step: the test stays short
    inputs = _photos(tmp_path / "in", count=1, side=32)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)).save(tmp_path / "style.png")
    events = EventCollector()
    summary = stylize_folder("gatys", [inputs], tmp_path / "out", style=tmp_path / "style.png",
                             assignments=["features=random", "steps=3", "max_size=32", "scales=1"], device="cpu",
                             progress=events, workers=1)
    assert summary.written == 1
    progress = events.of_kind("progress")
    previews = [event.stats[PREVIEW] for event in progress if PREVIEW in event.stats]
    assert len(previews) >= 3 and Path(previews[-1]).is_file()
    with Image.open(previews[-1]) as image:
        assert image.size == (32, 32)
    inside = [event.done for event in progress if 0 < event.done < 1]
    assert inside  # per-step progress inside the one image, not 0% until it is done
    assert progress[-1].stats["images_per_s"] > 0 and Path(progress[-1].stats[LAST_OUTPUT]).is_file()
