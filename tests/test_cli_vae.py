"""`genstudio reconstruct` and `genstudio interpolate` end to end, on tiny VAEs trained for 2 steps in tmp."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.fileio import sha256_file
from genstudio.provenance import read_provenance

TINY = {"resolution": 32, "channels": 1, "width": 4, "latent_dim": 4, "validation_fraction": 0.0}


def make_folder(root):
    """6 grey 32 x 32 PNGs in classes a and b: a bar at a different height in each."""
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for index in range(3):
            pixels = np.full((32, 32), 30 if label == "a" else 220, dtype=np.uint8)
            pixels[4 + 8 * index:8 + 8 * index, :] = 255 - pixels[0, 0]
            Image.fromarray(pixels, "L").save(root / label / f"{label}{index}.png")
    return root


def discover_in(root, extra):
    from genstudio.plugins import discover

    return discover(entry_points=False, plugin_dir=root / "plugins", disabled=set(), extra=extra)


def trained_autoencoders(root):
    """`root` with data/ (two classes) and a vae and a cvae trained on it for 2 steps on one thread."""
    import genstudio_vae

    from genstudio.data import ImageFolderDataset
    from genstudio.training import fit

    dataset = ImageFolderDataset(make_folder(root / "data"), 32, 1, cache=False)
    registry = discover_in(root, [("vae", genstudio_vae)])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for backend, more in (("vae", {}), ("cvae", {"num_classes": 2})):
            fit(registry.backend(backend), {**TINY, **more}, dataset, root / backend, steps=2, batch_size=3,
                device="cpu", sample_count=0)
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A trained vae, a trained cvae and an (untrained) dcgan, with their image folder."""
    import genstudio_gan

    from genstudio.models import save_model

    root = trained_autoencoders(tmp_path_factory.mktemp("vae-cli"))
    spec = discover_in(root, [("gan", genstudio_gan)]).backend("dcgan")
    config = spec.schema.resolve({"resolution": 32, "channels": 1, "ngf": 4, "ndf": 4, "latent_dim": 4})
    save_model(root / "dcgan", spec, config, spec.load().build(config).state_dict())
    return root


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.int16)


def reconstruction(model_dir, image) -> np.ndarray:
    """The model's reconstruction of a grey PNG, computed here, as 0..255 values."""
    from genstudio.models import load_model

    module = load_model(model_dir).module
    with torch.no_grad():
        result = module.reconstruct(torch.from_numpy(pixels(image)).float().div(255)[None, None])
    return np.rint(result[0, 0].numpy() * 255)


def test_reconstruct_skips_bad_inputs_and_records_provenance(run_cli, models, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    out = tmp_path / "out"
    result = run_cli("reconstruct", str(models / "vae"), str(models / "data"), str(bad), str(tmp_path / "gone.png"),
                     "--out", str(out), "--compare", "--json", "--device", "cpu")
    assert result.returncode == 1, result.stderr  # partial failure
    report = json.loads(result.stdout)
    assert len(report["written"]) == 6
    assert {item["input"]: item["reason"] for item in report["failed"]} == {
        str(bad): "not an image", str(tmp_path / "gone.png"): "file not found"}
    assert "skipped" in result.stderr and str(bad) in result.stderr
    first = models / "data" / "a" / "a0.png"
    assert sorted(p.name for p in out.iterdir())[:2] == ["a0-compare.png", "a0.png"]
    record = read_provenance(out / "a0.png")
    card = json.loads((models / "vae" / "model.json").read_text())
    assert record["input_sha256"] == sha256_file(first) and record["model_sha256"] == card["weights_sha256"]
    assert record["backend"] == "vae" and record["runtime"] == "torch"
    assert np.abs(pixels(out / "a0.png") - reconstruction(models / "vae", first)).max() <= 1
    assert Image.open(out / "a0-compare.png").size == (2 * 32 + 3 * 2, 32 + 2 * 2)  # side by side, padded


def test_interpolate_endpoints_reconstruct_the_inputs(run_cli, models, tmp_path):
    image_a, image_b = models / "data" / "a" / "a0.png", models / "data" / "b" / "b2.png"
    out = tmp_path / "path"
    result = run_cli("interpolate", str(models / "vae"), str(image_a), str(image_b), "--steps", "4", "--out",
                     str(out), "--json", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [p.rsplit("/", 1)[-1] for p in report["files"]] == [f"step-00{i}.png" for i in range(4)]
    assert np.abs(pixels(out / "step-000.png") - reconstruction(models / "vae", image_a)).max() <= 1
    assert np.abs(pixels(out / "step-003.png") - reconstruction(models / "vae", image_b)).max() <= 1
    assert np.abs(pixels(out / "step-001.png") - pixels(out / "step-000.png")).max() > 0
    assert Image.open(out / "strip.png").size == (4 * 32 + 5 * 2, 32 + 2 * 2)
    record = read_provenance(out / "step-002.png")
    assert record["parameters"]["t"] == pytest.approx(2 / 3) and record["input_b_sha256"] == sha256_file(image_b)


def test_conditional_models_take_a_label(run_cli, models, tmp_path):
    image_a, image_b = models / "data" / "a" / "a0.png", models / "data" / "a" / "a1.png"
    args = ["interpolate", str(models / "cvae"), str(image_a), str(image_b), "--steps", "2", "--out",
            str(tmp_path / "c"), "--device", "cpu"]
    missing = run_cli(*args)
    assert missing.returncode == 2 and "--label" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    named = run_cli(*args, "--label", "b")
    assert named.returncode == 0, named.stderr
    assert read_provenance(tmp_path / "c" / "step-001.png")["parameters"]["label"] == 1


def test_one_line_errors(run_cli, models, tmp_path):
    image = models / "data" / "a" / "a0.png"
    generator = run_cli("reconstruct", str(models / "dcgan"), str(image), "--out", str(tmp_path / "x"))
    assert generator.returncode == 2 and "not an autoencoder" in generator.stderr
    assert len(generator.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    unreadable = run_cli("interpolate", str(models / "vae"), str(image), str(bad), "--out", str(tmp_path / "y"))
    assert unreadable.returncode == 2 and str(bad) in unreadable.stderr
    assert not (tmp_path / "y").exists()
