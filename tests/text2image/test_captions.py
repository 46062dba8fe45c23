"""Captions of dataset folders (genstudio.captions): sources, odd encodings, empty and missing captions, the
vocabulary and tokenizer with its character fallback; the captioned shapes set and `genstudio data check`."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from genstudio.captions import (
    END_OF_WORD,
    FIRST_WORD,
    PAD,
    CaptionedDataset,
    Tokenizer,
    build_vocabulary,
    read_captions,
    words,
)
from genstudio.data import ImageFolderDataset, scan_folder
from genstudio.errors import UserError


def image(path, grey=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), grey).save(path)
    return path


def test_sidecar_and_jsonl_captions_add_up_and_files_are_not_skipped(tmp_path):
    image(tmp_path / "a.png")
    image(tmp_path / "b.png")
    image(tmp_path / "c.png")
    (tmp_path / "a.txt").write_text("A red circle\n\n  above a   blue square \n", encoding="utf-8")
    (tmp_path / "captions.jsonl").write_text(
        json.dumps({"file": "a.png", "caption": "third one"}) + "\n"
        + json.dumps({"file": "b.png", "captions": ["b one", "b two"]}) + "\n", encoding="utf-8")
    scan = scan_folder(tmp_path)
    assert scan.skipped == []  # caption files belong to the images
    captions, report = read_captions(scan)
    assert captions == [["A red circle", "above a blue square", "third one"], ["b one", "b two"], []]
    assert (report.from_files, report.from_classes, report.captions) == (2, 0, 5)
    assert report.missing == [str(tmp_path / "c.png")]
    assert "without any" in report.summary()


def test_odd_encodings_empty_files_and_bad_lines_are_reported_never_fatal(tmp_path):
    image(tmp_path / "cls" / "latin.png")
    image(tmp_path / "cls" / "utf16.png")
    image(tmp_path / "cls" / "empty.png")
    image(tmp_path / "cls" / "ctrl.png")
    image(tmp_path / "other" / "x.png")
    (tmp_path / "cls" / "latin.txt").write_bytes("un café brûlé".encode("latin-1"))
    (tmp_path / "cls" / "utf16.txt").write_bytes("ein Würfel".encode("utf-16"))
    (tmp_path / "cls" / "empty.txt").write_bytes(b"   \n\n")
    (tmp_path / "cls" / "ctrl.txt").write_bytes(b"\xef\xbb\xbfbell\x07 and \x1b[31mred\x00")
    (tmp_path / "cls" / "captions.jsonl").write_text('not json\n{"file": "gone.png", "caption": "x"}\n'
                                                     '{"file": "ctrl.png", "caption": 3}\n', encoding="utf-8")
    captions, report = read_captions(scan_folder(tmp_path))
    by_name = dict(zip([p.name for p in scan_folder(tmp_path).files], captions, strict=True))
    assert by_name["latin.png"] == ["un café brûlé"]
    assert by_name["utf16.png"] == ["ein Würfel"]
    assert by_name["empty.png"] == ["a cls"]  # the class name stands in
    assert by_name["ctrl.png"] == ["bell and [31mred"]  # control characters dropped, text kept
    assert by_name["x.png"] == ["a other"]
    reasons = sorted(problem.reason for problem in report.problems)
    assert any("Latin-1" in r for r in reasons) and "empty caption file" in reasons
    assert any("not a JSON object" in r for r in reasons) and any("no image 'gone.png'" in r for r in reasons)
    assert any("expected" in r for r in reasons)
    assert (report.from_files, report.from_classes) == (3, 2)


def test_class_folders_without_captions_become_captions(tmp_path):
    for digit in "07":
        image(tmp_path / digit / "one.png")
    captions, report = read_captions(scan_folder(tmp_path))
    assert captions == [["a 0"], ["a 7"]]
    assert report.vocabulary[0] == "a" and set(report.vocabulary) == {"a", "0", "7"}


def test_tokenizer_words_and_character_fallback():
    assert words("A Café, NO.7!") == ["a", "cafe", "no", "7"]
    tokenizer = Tokenizer(["red", "circle", "a"], max_tokens=12)
    encoded = tokenizer.encode("a red circel")
    assert encoded.spelt == ("circel",)
    assert encoded.ids[:2] == (FIRST_WORD + 2, FIRST_WORD) and encoded.ids[-1] == END_OF_WORD
    assert len(encoded.ids) == 2 + len("circel") + 1
    assert tokenizer.decode(list(encoded.ids)) == "a red circel"
    assert tokenizer.padded(encoded.ids)[-3:] == [PAD] * 3
    assert tokenizer.encode("a red circle", spell=frozenset({2})).ids == encoded.ids[:2] + tuple(
        Tokenizer.spell("circle"))
    with pytest.raises(UserError, match="tokens long, 1 unknown word.*at most 12"):
        tokenizer.encode_for_model("a red supercalifragilistic")
    with pytest.raises(UserError, match="no words"):
        tokenizer.encode_for_model(" ,,, ")
    assert tokenizer.completions("a re") == ["red"] and tokenizer.completions("a red ") == ["red", "circle", "a"]
    with pytest.raises(UserError, match="vocabulary"):
        Tokenizer(["Red"])


def test_vocabulary_is_ranked_by_frequency_and_capped():
    groups = [["b a a"], ["c a b"]]
    assert build_vocabulary(groups) == ["a", "b", "c"]
    assert build_vocabulary(groups, max_words=2) == ["a", "b"]
    assert build_vocabulary(groups, min_count=2) == ["a", "b"]


def test_captioned_dataset_rows_hold_every_caption_and_a_spelt_one(tmp_path):
    image(tmp_path / "a.png", 10)
    image(tmp_path / "b.png", 200)
    image(tmp_path / "c.png", 90)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    (tmp_path / "a.txt").write_text("red circle\nblue square\n")
    (tmp_path / "b.txt").write_text("green\n")
    (tmp_path / "bad.txt").write_text("never used\n")
    dataset = ImageFolderDataset(tmp_path, 8, 1, cache=False)
    scan = scan_folder(tmp_path)
    captions, report = read_captions(scan)
    tokenizer = Tokenizer(build_vocabulary(captions), max_tokens=8)
    captioned = CaptionedDataset(dataset, captions, report, tokenizer)
    assert len(captioned) == 2 and captioned.left_out == 1  # c.png has no caption; bad.png did not decode
    assert captioned.labels.shape == (2, 3, 8)
    assert captioned.images[0].float().mean() < 50 < captioned.images[1].float().mean()  # rows follow the files
    assert tokenizer.decode(captioned.labels[0, 1].tolist()) == "blue square"
    assert tokenizer.decode(captioned.labels[1, 1].tolist()) == ""  # padding slot
    assert END_OF_WORD in captioned.labels[0, 2].tolist()  # the spelt variant of the first caption
    assert tokenizer.decode(captioned.labels[0, 2].tolist()) == "red circle"


def test_shapes_set_captions_follow_the_render_parameters(tmp_path):
    from genstudio_shapes.dataset import COLOURS, read_params, write_captioned_shapes

    write_captioned_shapes(tmp_path / "s", 9, 32, seed=3)
    params = read_params(tmp_path / "s")
    assert [p.shape for p in params] == ["circle", "square", "triangle"] * 3
    for p in params:
        lines = (tmp_path / "s" / p.file).with_suffix(".txt").read_text().splitlines()
        assert lines[0].startswith(f"a {p.size} {p.colour} {p.shape} ")
        hsv = np.asarray(Image.open(tmp_path / "s" / p.file).convert("HSV")).reshape(-1, 3)
        hue = float(np.median(hsv[hsv[:, 1] > 100, 0])) / 255
        assert min(abs(hue - COLOURS[p.colour]), 1 - abs(hue - COLOURS[p.colour])) < 0.06, (p, hue)
    first = (tmp_path / "s" / params[0].file).read_bytes()
    write_captioned_shapes(tmp_path / "t", 9, 32, seed=3)
    assert (tmp_path / "t" / params[0].file).read_bytes() == first


def test_data_check_reports_caption_coverage_and_vocabulary(run_cli, tmp_path):
    made = run_cli("data", "shapes", str(tmp_path / "s"), "--count", "6", "--json")
    assert made.returncode == 0, made.stderr
    (tmp_path / "s" / "circle" / "00000.txt").write_bytes(b"")
    result = run_cli("data", "check", str(tmp_path / "s"), "-r", "16", "--json", "--no-cache")
    assert result.returncode == 0, result.stderr
    captions = json.loads(result.stdout)["captions"]
    assert (captions["from_files"], captions["from_classes"]) == (5, 1)
    assert "circle" in captions["vocabulary"] and captions["problems"][0]["reason"] == "empty caption file"
    text = run_cli("data", "check", str(tmp_path / "s"), "-r", "16", "--no-cache")
    assert "captions: 6 of 6 images (5 from files, 1 from class names)" in text.stdout
    assert "empty caption file" in text.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
