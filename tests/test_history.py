"""genstudio.history without Qt: entries survive a reload, filters, damaged lines and missing files, removal,
reuse of an untrusted record through the backend schema, contact sheets and animation frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from genstudio.errors import UserError
from genstudio.history import History, animation_frames, contact_sheet, reuse_settings, unique_target
from genstudio.provenance import png_bytes, read_provenance


def _pixels(value: int, side: int = 8) -> np.ndarray:
    return np.full((side, side, 3), value, np.uint8)


def _record(operation="generate", backend="shapes", seed=3, **more):
    return {"backend": backend, "model": backend, "model_sha256": None, "operation": operation,
            "parameters": {"seed": seed, "index": 0}, **more}


def test_an_in_memory_result_becomes_a_png_with_provenance_and_survives_a_reload(tmp_path):
    history = History(tmp_path / "h")
    entry = history.add_image(_pixels(10), _record(), "seed 3 #0")
    assert entry.path.is_file() and entry.path.is_relative_to(tmp_path / "h")
    assert read_provenance(entry.path)["parameters"]["seed"] == 3
    assert history.thumbnail(entry).is_file()
    again = History(tmp_path / "h")  # a new app instance
    assert [e.id for e in again.entries] == [entry.id]
    assert again.entries[0].title == "seed 3 #0" and again.entries[0].operation == "generate"
    assert again.entries[0].record["parameters"]["seed"] == 3 and again.notice is None


def test_filters_by_model_and_operation(tmp_path):
    history = History(tmp_path)
    history.add_image(_pixels(1), _record(), "a")
    history.add_image(_pixels(2), _record("stylize", backend="gatys"), "b")
    history.add_image(_pixels(3), _record("stylize", backend="shapes"), "c")
    assert history.models() == ["gatys", "shapes"] and history.operations() == ["generate", "stylize"]
    assert [e.title for e in history.filter(model="shapes")] == ["a", "c"]
    assert [e.title for e in history.filter(operation="stylize")] == ["b", "c"]
    assert [e.title for e in history.filter(model="shapes", operation="stylize")] == ["c"]


def test_damaged_lines_are_passed_over_with_one_notice_and_kept(tmp_path):
    history = History(tmp_path)
    first = history.add_image(_pixels(1), _record(), "a")
    with open(history.log, "a", encoding="utf-8") as handle:
        handle.write('{"id": "torn", "pa')  # a write cut short, no newline
    second = history.add_image(_pixels(2), _record(), "b")  # appended on a line of its own
    with open(history.log, "a", encoding="utf-8") as handle:
        handle.write("[1, 2]\n" + json.dumps({"id": 5, "path": "x"}) + "\n")
    reloaded = History(tmp_path)
    assert [e.id for e in reloaded.entries] == [first.id, second.id]
    assert reloaded.notice is not None and "3 damaged line(s)" in reloaded.notice
    assert '{"id": "torn", "pa' in history.log.read_text()  # nothing rewritten away


def test_a_missing_file_stays_listed_as_missing_and_removal_persists(tmp_path):
    history = History(tmp_path)
    gone = history.add_image(_pixels(1), _record(), "a")
    kept = history.add_image(_pixels(2), _record(), "b")
    gone.path.unlink()
    (tmp_path / "thumbs" / f"{gone.id}.png").unlink()
    reloaded = History(tmp_path)
    assert reloaded.get(gone.id).missing and reloaded.thumbnail(reloaded.get(gone.id)) is None
    assert reloaded.remove([gone.id, "no-such-id"]) == 1
    assert [e.id for e in History(tmp_path).entries] == [kept.id]
    outside = tmp_path / "mine.png"
    Image.new("RGB", (4, 4)).save(outside)
    theirs = reloaded.add_file(outside)
    reloaded.remove([kept.id, theirs.id])
    assert not kept.path.exists() and outside.is_file()  # the history's own file goes, the user's stays
    assert not list((tmp_path / "thumbs").iterdir())


def test_folder_results_are_referenced_where_they_are_once_per_job(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(png_bytes(_pixels(5), _record("stylize", backend="gatys")))
    Image.new("RGB", (4, 4)).save(out / "plain.png")
    history = History(tmp_path / "h")
    made = history.add_files([out / "a.png", out / "plain.png", out / "gone.png"], job=7)
    assert [(e.path, e.operation, e.job) for e in made] == [(out / "a.png", "stylize", 7),
                                                            (out / "plain.png", "opened", 7)]
    assert history.add_files([out / "a.png"], job=7) == []  # the same job's results, seen again
    assert len(History(tmp_path / "h").filter(model="gatys")) == 1


def test_reuse_settings_validates_the_record_through_the_schema(tmp_path):
    from genstudio.plugins import get_registry

    registry = get_registry(refresh=True)
    good = _record(config={"resolution": 24}, parameters={"seed": 9, "index": 1, "label": 2, "truncation": 0.5})
    settings = reuse_settings(good, registry)
    assert settings.backend == "shapes" and settings.model is None
    assert settings.config["resolution"] == 24 and settings.options == {"seed": 9, "index": 1, "label": 2,
                                                              "truncation": 0.5}
    bad = [None, _record(backend="nope"), _record(config={"no_such_setting": 1}),
           _record(config={"resolution": "huge"}), _record(parameters={"seed": "7; rm"}),
           _record(parameters={"seed": -1}), _record(parameters={"truncation": 3.0}),
           {**_record(), "model": str(tmp_path / "gone"), "model_sha256": "ab"}]
    for record in bad:
        with pytest.raises(UserError) as info:
            reuse_settings(record, registry)
        assert "\n" not in str(info.value)


def test_contact_sheet_and_animation_frames(tmp_path):
    files = []
    for value in range(5):
        files.append(tmp_path / f"{value}.png")
        Image.fromarray(_pixels(value * 50, 16)).save(files[-1])
    sheet = contact_sheet(files, cell=32, gap=4, captions=[f.name for f in files])
    assert sheet.shape == (2 * (32 + 4 + 16) + 4, 3 * 36 + 4, 3)  # 3 columns, 2 rows, captions under each
    assert sheet[4 + 16, 4 + 16].tolist() == [0, 0, 0] and sheet[4 + 16, 40 + 16].tolist() == [50, 50, 50]
    assert len(animation_frames(files)) == 5
    Image.new("RGB", (9, 9)).save(tmp_path / "odd.png")
    with pytest.raises(UserError, match="one size"):
        animation_frames([*files, tmp_path / "odd.png"])
    with pytest.raises(UserError):
        contact_sheet([])
    assert unique_target(tmp_path, "0.png") == tmp_path / "0-2.png"


def test_a_folder_jobs_files_come_from_its_journal_inside_its_out_folder(tmp_path):
    from genstudio.batch.pipeline import JOURNAL
    from genstudio.history import result_files

    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        Image.new("RGB", (4, 4)).save(out / name)
    (tmp_path / "outside.png").write_bytes((out / "a.png").read_bytes())
    lines = [{"output": "a.png"}, {"output": "sub/b.png"}, {"output": "../outside.png"}, {"output": "gone.png"}]
    (out / JOURNAL).write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"output": "to')
    summary = {"out": str(out), "written": 2}
    assert result_files({}, summary) == [out / "a.png", out / "sub" / "b.png"]
    assert result_files({"out": str(out)}, {"files": [str(out / "a.png"), str(tmp_path / "outside.png")]}) == [
        out / "a.png"]
    assert result_files({"out": str(out)}, {"written": [{"output": str(out / "sub/b.png")}]}) == [out / "sub/b.png"]
    assert result_files({}, None) == [] and result_files({}, {"files": []}) == []
