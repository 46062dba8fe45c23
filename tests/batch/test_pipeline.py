"""The folder batch: mirrored outputs, bad files reported, reruns skip finished work, formats, cancel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from genstudio.batch.inputs import collect
from genstudio.batch.pipeline import JOURNAL, run_batch
from genstudio.batch.writer import sidecar
from genstudio.provenance import read_provenance

from .conftest import invert_processor


def run(root, out, **options):
    items, passed_over = collect([root], out, recursive=True)
    return run_batch(items, options.pop("processor", invert_processor()), out, passed_over=passed_over, **options)


def test_good_files_processed_bad_ones_reported(tree, tmp_path):
    root, good, bad = tree
    out = tmp_path / "out"
    summary = run(root, out)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert written == sorted(good)
    assert summary.written == len(good) and summary.exit_code == 1
    reasons = {entry["path"].rsplit("/", 1)[-1]: entry["reason"] for entry in summary.failed + summary.passed_over}
    assert set(reasons) == set(bad)
    assert "zero bytes" in reasons["empty.png"]
    assert "unsupported" in reasons["notes.txt"] and "unsupported" in reasons["vector.svg"]
    # pixels really went through the processor, upright and in RGB
    source = np.asarray(Image.open(root / "a.png").convert("RGB"), dtype=np.int16)
    result = np.asarray(Image.open(out / "a.png"), dtype=np.int16)
    assert np.array_equal(result, 255 - source)
    assert Image.open(out / "rotated.png").size == (20, 40)
    record = read_provenance(out / "sub" / "c.png")
    assert record["backend"] == "invert" and len(record["input_sha256"]) == 64 and record["time"]


def test_rerun_skips_everything_done(tree, tmp_path):
    root, good, _ = tree
    out = tmp_path / "out"
    run(root, out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    calls: list = []
    again = run(root, out, processor=invert_processor(calls))
    assert again.written == 0 and again.up_to_date == len(good) and calls == []
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps
    (out / JOURNAL).unlink()  # without the journal, the outputs' provenance still says they are done
    assert run(root, out).up_to_date == len(good)
    gradient_changed = root / "a.png"
    Image.new("RGB", (8, 8), "red").save(gradient_changed)  # a changed input is redone
    third = run(root, out)
    assert third.written == 1 and np.asarray(Image.open(out / "a.png"))[0, 0].tolist() == [0, 255, 255]
    forced = run(root, out, overwrite=True)
    assert forced.written == len(good)


def test_batches_group_equal_sizes(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    for index in range(5):
        Image.new("RGB", (16, 16), (index * 40, 0, 0)).save(root / f"{index}.png")
    Image.new("RGB", (8, 24)).save(root / "odd.png")
    calls: list = []
    summary = run(root, tmp_path / "out", processor=invert_processor(calls, max_batch=3))
    assert summary.written == 6 and summary.exit_code == 0
    assert sorted(calls) == sorted([(3, 3, 16, 16), (2, 3, 16, 16), (1, 3, 24, 8)])


def test_jpeg_and_webp_get_sidecars(tree, tmp_path):
    root, good, _ = tree
    for fmt in ("jpg", "webp"):
        out = tmp_path / fmt
        summary = run(root, out, fmt=fmt, quality=80)
        assert summary.written == len(good)
        image = out / f"a.{fmt}"
        assert json.loads(sidecar(image).read_text())["backend"] == "invert"
        assert run(root, out, fmt=fmt, quality=80).up_to_date == len(good)
        assert run(root, out, fmt=fmt, quality=90).written == len(good)  # another quality is another file


def test_max_size_downscales(tree, tmp_path):
    root, _, _ = tree
    out = tmp_path / "out"
    run(root, out, max_size=20)
    assert max(Image.open(out / "a.png").size) == 20


def test_cancel_keeps_what_finished(tree, tmp_path):
    root, good, _ = tree
    out = tmp_path / "out"
    seen = {"count": 0}

    def abort():
        seen["count"] += 1
        return seen["count"] > 4

    summary = run(root, out, abort=abort, workers=1, processor=invert_processor(max_batch=1))
    assert summary.cancelled and 0 < summary.written < len(good)
    assert len(list(out.rglob("*.png"))) == summary.written
    assert not list(out.rglob("*.tmp"))
    rest = run(root, out)
    assert rest.up_to_date == summary.written and rest.written == len(good) - summary.written


def test_processing_error_costs_one_image(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    for index in range(3):
        Image.new("RGB", (16, 16), (index * 100, 0, 0)).save(root / f"{index}.png")
    processor = invert_processor()
    inner = processor.run

    def picky(batch):
        if (batch[:, 0, 0, 0] > 0.7).any():  # the reddest image breaks the network
            raise RuntimeError("kernel failure\nsecond line")
        return inner(batch)

    processor.run = picky
    summary = run(root, tmp_path / "out", processor=processor)
    assert summary.written == 2 and [f["reason"] for f in summary.failed] == [
        "plugin failed: RuntimeError: kernel failure"]  # a processor's own exception is its bug (one line)


def test_report_file_and_option_checks(tree, tmp_path):
    root, good, bad = tree
    report = tmp_path / "report.json"
    summary = run(root, tmp_path / "out", report_file=report)
    data = json.loads(report.read_text())
    assert data["written"] == len(good) and data["exit_code"] == 1 and summary.report == str(report)
    from genstudio.errors import UserError

    with pytest.raises(UserError, match="tile"):
        run(root, tmp_path / "o2", tile=16)
    with pytest.raises(UserError, match="quality"):
        run(root, tmp_path / "o3", quality=0)
