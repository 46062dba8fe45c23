"""`genstudio generate --per-class N --layout folders [--mix-real DIR]`: a class-folder dataset from a conditional
generator, the same from the CLI and a generate job, resumable, with a manifest; non-conditional models and bad
options are one line; real images come in through the image allowlist, byte for byte, never through a link."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from PIL import Image

from genstudio.fileio import sha256_file
from genstudio.models import save_model
from genstudio.plugins import get_registry
from genstudio.provenance import read_provenance

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}  # fixed provenance time: identical bytes from any run
SHAPES = ("circle", "square", "triangle")


def tree(root):
    """{relative path: sha256} of every file below root."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def tiny_model(folder, backend, **extra_config):
    spec = get_registry().backend(backend)
    config = spec.schema.resolve({"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1,
                                  **extra_config})
    extra = {"class_names": ["zero", "one", "two"]} if backend == "cgan" else {}
    save_model(folder, spec, config, spec.load().build(config).state_dict(), extra=extra)
    return folder


def test_per_class_folders_cli_and_job_agree_and_rerun_is_free(run_cli, tmp_path, monkeypatch):
    out = tmp_path / "cli"
    args = ["generate", "shapes", "--per-class", "2", "--layout", "folders", "--out", str(out), "--seed", "3",
            "--set", "resolution=16", "--json"]
    first = run_cli(*args, env=EPOCH)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["count"], summary["written"], summary["per_class"]) == (6, 6, 2)
    files = tree(out)
    assert sorted(files) == sorted([f"{shape}/seed3-0000{i}-{shape}.png" for shape in SHAPES for i in (0, 1)]
                                   + ["manifest.json"])
    for shape in SHAPES:  # each image was drawn as the class of its folder
        record = read_provenance(out / shape / f"seed3-00001-{shape}.png")
        assert record["parameters"]["label_name"] == shape and record["parameters"]["index"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generated"] == 6 and manifest["real"] is None and manifest["seed"] == 3
    assert {name: entry["generated"] for name, entry in manifest["classes"].items()} == dict.fromkeys(SHAPES, 2)
    assert manifest["generator"]["backend"] == "shapes" and manifest["generator"]["config"]["resolution"] == 16

    again = run_cli(*args, env=EPOCH)
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["written"], json.loads(again.stdout)["unchanged"]) == (0, 6)
    assert tree(out) == files

    from genstudio.jobs.builtin import run_generate
    from genstudio.jobs.runners import runner_spec

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH["SOURCE_DATE_EPOCH"])
    params = runner_spec("generate").prepare({"model": "shapes", "out": str(tmp_path / "job"), "per_class": 2,
                                              "layout": "folders", "seed": 3, "config": {"resolution": 16}})
    result = run_generate(params, None, lambda: False)
    assert result["written"] == 6 and result["manifest"] == str(tmp_path / "job" / "manifest.json")
    assert tree(tmp_path / "job") == files  # same pixels, provenance and manifest as the command line

    from genstudio.data import scan_folder

    scan = scan_folder(out)  # ready to train on: the classes, every image, and no complaint about the manifest
    assert sorted(scan.classes) == sorted(SHAPES) and len(scan.files) == 6 and scan.skipped == []


def test_a_trained_conditional_model_writes_named_class_folders_that_reproduce(run_cli, tmp_path):
    model = tiny_model(tmp_path / "m", "cgan", num_classes=3)
    out = tmp_path / "aug"
    done = run_cli("generate", str(model), "--per-class", "3", "--layout", "folders", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "9 images" in done.stdout and "manifest:" in done.stdout
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"zero", "one", "two"}
    assert all(len(list((out / name).glob("*.png"))) == 3 for name in ("zero", "one", "two"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generator"]["model_sha256"] == json.loads((model / "model.json").read_text())["weights_sha256"]
    image = out / "two" / "seed0-00002-two.png"
    assert read_provenance(image)["parameters"]["label"] == 2
    again = run_cli("reproduce", str(image), "--out", str(tmp_path / "again.png"))
    assert again.returncode == 0 and "identical pixels" in again.stdout, again.stdout + again.stderr


def test_a_model_without_classes_is_refused_in_one_line(run_cli, tmp_path):
    dcgan = tiny_model(tmp_path / "d", "dcgan")
    result = run_cli("generate", str(dcgan), "--per-class", "2", "--layout", "folders", "--out", str(tmp_path / "x"))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "not conditional" in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("options, words", [
    ({"layout": "folders"}, "not conditional"),
    ({"per_class": 2, "count": 4}, "not both"),
    ({"per_class": 2, "mix_real": "."}, "--layout folders"),
    ({"layout": "rows"}, "--layout must be"),
    ({"per_class": 2, "grid": True}, "--grid"),
    ({"per_class": 2, "label": "circle"}, "--label"),
    ({"per_class": 0}, "at least 1"),
])
def test_bad_options_are_refused_before_any_work(tmp_path, options, words):
    from genstudio.errors import UserError
    from genstudio.generate_folder import generate_to_folder

    model = tiny_model(tmp_path / "d", "dcgan") if words == "not conditional" else "shapes"
    with pytest.raises(UserError, match=words) as caught:
        generate_to_folder(model, tmp_path / "x", device="cpu", **options)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "x").exists()


def make_real(root):
    """circle: two good PNGs, a truncated PNG and a document; square: a JPEG one folder down; a manifest."""
    (root / "circle").mkdir(parents=True)
    (root / "square" / "sub").mkdir(parents=True)
    for index in range(2):
        Image.new("RGB", (16, 16), (index * 90, 20, 200)).save(root / "circle" / f"c{index}.png")
    (root / "circle" / "broken.png").write_bytes((root / "circle" / "c0.png").read_bytes()[:40])
    (root / "circle" / "notes.doc").write_text("not an image")
    Image.new("RGB", (16, 16), (200, 20, 20)).save(root / "square" / "sub" / "s.jpg")
    (root / "manifest.json").write_text("{}")  # a folder this command wrote: its manifest is no lost image
    return root


def test_mix_real_copies_usable_images_byte_for_byte_and_records_them(run_cli, tmp_path):
    real = make_real(tmp_path / "real")
    out = tmp_path / "aug"
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"keep me")
    (out / "circle").mkdir(parents=True)
    os.symlink(outside, out / "circle" / "real-c0.png")  # planted: must be replaced, never written through
    args = ["generate", "shapes", "--per-class", "1", "--layout", "folders", "--mix-real", str(real),
            "--out", str(out), "--set", "resolution=16"]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    assert "3 copied, 0 already there, 2 not usable" in done.stdout
    assert "2 file(s)" in done.stderr and "were not copied" in done.stderr  # the note names an example
    assert outside.read_bytes() == b"keep me" and not (out / "circle" / "real-c0.png").is_symlink()
    for source, copy in [("circle/c0.png", "circle/real-c0.png"), ("circle/c1.png", "circle/real-c1.png"),
                         ("square/sub/s.jpg", "square/real-sub_s.jpg")]:
        assert (out / copy).read_bytes() == (real / source).read_bytes()
    assert not (out / "circle" / "real-broken.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    recorded = {entry["file"]: entry for entry in manifest["real"]["files"]}
    assert recorded["square/real-sub_s.jpg"]["sha256"] == sha256_file(real / "square" / "sub" / "s.jpg")
    assert recorded["square/real-sub_s.jpg"]["source"] == str(real / "square" / "sub" / "s.jpg")
    assert sorted(os.path.basename(s["path"]) for s in manifest["real"]["skipped"]) == ["broken.png", "notes.doc"]
    assert manifest["classes"]["circle"] == {"folder": "circle", "label": 0, "generated": 1, "real": 2}
    assert manifest["real"]["source"] == str(real)

    before = tree(out)
    again = run_cli(*args)
    assert again.returncode == 0 and "0 copied, 3 already there" in again.stdout, again.stdout + again.stderr
    assert tree(out) == before


def test_mix_real_with_an_unknown_class_writes_nothing(run_cli, tmp_path):
    real = make_real(tmp_path / "real")
    (real / "dog").mkdir()
    Image.new("RGB", (8, 8)).save(real / "dog" / "d.png")
    result = run_cli("generate", "shapes", "--per-class", "1", "--layout", "folders", "--mix-real", str(real),
                     "--out", str(tmp_path / "aug"))
    assert result.returncode == 2 and "'dog'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "aug").exists()


@pytest.mark.parametrize("name, folder", [("cat", "cat"), ("a/b", "a_b"), (".hidden", "hidden"), ("..", "class")])
def test_class_folder_names_stay_inside(name, folder):
    from genstudio.augment import class_folder

    assert class_folder(name) == folder
