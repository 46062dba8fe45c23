"""Nothing is lost and nothing is written outside the chosen folder: links planted in model and output folders,
files named alike, odd file names, and --out or --resume pointed at the wrong thing. Each case from the fault
sweep is one test, named test_case_<item>_<what> (bench/faults.py prints them as a table)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from tests.faults.conftest import TINY_DCGAN, grey_folder, odd_name

STYLE = ["--set", "features=random", "--set", "steps=1", "--set", "max_size=16"]


def train(gs, data: Path, out: Path, *more: str):
    return gs("train", "dcgan", "--data", data, "--out", out, *TINY_DCGAN, "--steps", "2", "--device", "cpu", *more)


def stylize(gs, inputs: Path, out: Path, *more: str):
    style = inputs.parent / "style.png"
    if not style.exists():
        Image.new("RGB", (16, 16), (20, 90, 160)).save(style)
    return gs("stylize", "gatys", inputs, "--style", style, "--out", out, *STYLE, "--device", "cpu", *more)


def colour(path: Path, rgb=(120, 30, 200), size=(16, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path)
    return path


def test_case_1_checkpoints_link_is_refused(gs, tmp_path, sentinel):
    model = tmp_path / "m"
    model.mkdir()
    (model / "checkpoints").symlink_to(sentinel.path, target_is_directory=True)
    done = train(gs, grey_folder(tmp_path / "data"), model)
    assert done.code == 2 and "symbolic link" in done.err and "Traceback" not in done.err
    assert sentinel.unchanged()


def test_case_1_pruning_keeps_what_it_did_not_write(gs, tmp_path):
    model = tmp_path / "m"
    for mine in ("mine", ".hidden", "step-00000001"):  # the last is named like a checkpoint, but is not one
        (model / "checkpoints" / mine).mkdir(parents=True)
        (model / "checkpoints" / mine / "f.txt").write_text("keep me")
    done = train(gs, grey_folder(tmp_path / "data"), model, "--resume")  # --resume: the folder is not empty
    assert done.code == 0, done.err
    names = sorted(p.name for p in (model / "checkpoints").iterdir())
    assert names == [".hidden", "mine", "step-00000001", "step-00000002"]
    assert all((model / "checkpoints" / n / "f.txt").read_text() == "keep me" for n in names[:3])


def test_case_2_undecodable_file_name_in_reconstruct_and_interpolate(gs, tmp_path, vae_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    odd = odd_name(photos)
    colour(photos / "plain.png")
    done = gs("reconstruct", vae_model, photos, "--out", tmp_path / "r", "--json")
    assert done.code == 0, done.err
    assert len(json.loads(done.out)["written"]) == 2 and (tmp_path / "r" / odd.name).is_file()
    path = gs("interpolate", vae_model, odd, photos / "plain.png", "--steps", "3", "--out", tmp_path / "i")
    assert path.code == 0, path.err
    again = gs("reproduce", tmp_path / "i" / "step-001.png", "--out", tmp_path / "again.png")
    assert again.code == 0, again.err


def test_case_2_undecodable_file_name_costs_nothing(gs, tmp_path):
    data = grey_folder(tmp_path / "data")
    odd_name(data / "a")
    Path(os.fsdecode(os.path.join(os.fsencode(data / "a"), b"corrupt\xff.png"))).write_bytes(b"not an image")
    model = tmp_path / "m"
    assert train(gs, data, model).code == 0
    card = json.loads((model / "model.json").read_text(encoding="utf-8"))  # written, valid UTF-8 JSON
    assert any("\udcff" in json.dumps(card["data"], ensure_ascii=False) for _ in [0])
    resumed = train(gs, data, model, "--resume", "--steps", "3")
    assert resumed.code == 0, resumed.err
    generated = gs("generate", model, "--count", "1", "--out", tmp_path / "g", "--device", "cpu")
    assert generated.code == 0, generated.err

    photos = tmp_path / "photos"
    colour(photos / "plain.png")
    odd = odd_name(photos)
    done = stylize(gs, photos, tmp_path / "out")
    assert done.code == 0, done.err
    made = tmp_path / "out" / odd.name
    assert made.is_file() and (tmp_path / "out" / "plain.png").is_file()
    assert gs("info", made).code == 0 and "\\udcff" in gs("info", made).out  # shown escaped, not a crash


def test_case_3_resume_never_replaces_a_finished_model(gs, tmp_path):
    data, model = grey_folder(tmp_path / "data"), tmp_path / "m"
    assert train(gs, data, model, "--steps", "3").code == 0
    weights = (model / "weights.safetensors").read_bytes()
    for folder in (model / "checkpoints").iterdir():
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    done = train(gs, data, model, "--resume")
    assert done.code == 2 and "finished model" in done.err
    assert (model / "weights.safetensors").read_bytes() == weights
    assert json.loads((model / "model.json").read_text())["extra"]["steps"] == 3


def test_case_4_journal_link_is_not_followed(gs, tmp_path, sentinel):
    photos, out = tmp_path / "photos", tmp_path / "out"
    colour(photos / "a.png")
    out.mkdir()
    (out / ".genstudio-batch.jsonl").symlink_to(sentinel.path / "journal")
    (out / "report.json").symlink_to(sentinel.path / "keep" / "notes.txt")
    done = stylize(gs, photos, out, "--report", out / "report.json")
    assert done.code == 0, done.err
    assert sentinel.unchanged()
    journal = out / ".genstudio-batch.jsonl"
    assert not journal.is_symlink() and "a.png" in journal.read_text()
    assert not (out / "report.json").is_symlink() and json.loads((out / "report.json").read_text())["written"] == 1


def test_case_4_journal_name_taken_by_a_folder_is_one_line(gs, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    colour(photos / "a.png")
    (out / ".genstudio-batch.jsonl").mkdir(parents=True)
    done = stylize(gs, photos, out)
    assert done.code == 2 and "is a folder" in done.err and "Traceback" not in done.err
    assert (out / ".genstudio-batch.jsonl").is_dir()


def test_case_5_same_stem_outputs_are_unique_and_settle(gs, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    colour(photos / "x" / "b.png", (200, 0, 0))
    Image.new("RGB", (16, 16), (0, 200, 0)).save(photos / "x" / "b.jpg")
    colour(photos / "x" / "c.png", (0, 0, 200))
    first = stylize(gs, photos, out, "--recursive", "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["written"] == 3
    assert sorted(p.name for p in (out / "x").iterdir()) == ["b.jpg.png", "b.png.png", "c.png"]
    again = json.loads(stylize(gs, photos, out, "--recursive", "--json").out)
    assert again["written"] == 0 and again["up_to_date"] == 3


def test_case_6_fifo_named_like_an_image_is_passed_over(gs, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    colour(photos / "a.png")
    os.mkfifo(photos / "pipe.png")
    result = {}
    worker = threading.Thread(target=lambda: result.update(done=stylize(gs, photos, out, "--json")), daemon=True)
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():  # never opened the FIFO for reading? then unblock it and fail
        with open(photos / "pipe.png", "wb"):
            pass
        pytest.fail("stylize hung on a FIFO")
    done = result["done"]
    assert done.code == 1 and (out / "a.png").is_file()
    assert "not a regular file" in json.dumps(json.loads(done.out)["passed_over"])


def test_case_6_linked_output_folder_costs_that_file_only(gs, tmp_path, sentinel):
    photos, out = tmp_path / "photos", tmp_path / "out"
    colour(photos / "lnk" / "c.png")
    colour(photos / "z.png")
    out.mkdir()
    (out / "lnk").symlink_to(sentinel.path, target_is_directory=True)
    done = stylize(gs, photos, out, "--recursive", "--json")
    assert done.code == 1, done.err
    summary = json.loads(done.out)
    assert summary["written"] == 1 and (out / "z.png").is_file()
    assert [Path(f["path"]).name for f in summary["failed"]] == ["c.png"]
    assert sentinel.unchanged()


@pytest.mark.parametrize("command", ["train", "generate", "reconstruct", "interpolate", "stylize"])
def test_case_12_out_is_a_file(gs, tmp_path, command, vae_model):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    photo = colour(tmp_path / "p.png")
    args = {
        "train": ["train", "dcgan", "--data", grey_folder(tmp_path / "d"), *TINY_DCGAN, "--steps", "1"],
        "generate": ["generate", "shapes", "--count", "1"],
        "reconstruct": ["reconstruct", vae_model, photo],
        "interpolate": ["interpolate", vae_model, photo, photo],
        "stylize": ["stylize", "gatys", photo, "--style", photo, *STYLE],
    }[command]
    done = gs(*args, "--out", blocker)
    assert done.code == 2, done.err
    assert "Traceback" not in done.err and "not a folder" in done.err
    assert blocker.read_text() == "a file, not a folder"


def test_case_12_long_file_names(gs, tmp_path, vae_model):
    photos = tmp_path / "photos"
    long_png = colour(photos / ("n" * 246 + ".png"))  # 250 characters: the output name has the same length
    done = stylize(gs, photos, tmp_path / "out")
    assert done.code == 0, done.err
    assert (tmp_path / "out" / long_png.name).is_file()
    reconstructed = gs("reconstruct", vae_model, long_png, "--compare", "--out", tmp_path / "r")
    assert reconstructed.code == 0, reconstructed.err
    assert len(list((tmp_path / "r").glob("*.png"))) == 2


def test_case_12_model_json_of_the_wrong_types(gs, tmp_path, vae_model):
    import shutil

    for field, value in (("backend", ["vae"]), ("plugin_version", 3), ("extra", "x")):
        broken = tmp_path / f"broken-{field}"
        shutil.copytree(vae_model, broken)
        card = json.loads((broken / "model.json").read_text())
        card[field] = value
        (broken / "model.json").write_text(json.dumps(card))
        done = gs("generate", broken, "--count", "1", "--out", tmp_path / "g")
        assert done.code == 2 and field in done.err and "Traceback" not in done.err


@pytest.fixture
def vae_model(tmp_path):
    """An untrained tiny VAE model folder (reconstruct, interpolate and generate all take it)."""
    import torch

    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("vae")
    config = spec.schema.resolve({"resolution": 32, "channels": 3, "width": 4, "latent_dim": 4})
    torch.manual_seed(0)
    save_model(tmp_path / "vae", spec, config, spec.load().build(config).state_dict())
    return tmp_path / "vae"
