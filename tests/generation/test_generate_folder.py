"""generate_to_folder: determinism, provenance, skipping up-to-date files, labels and errors."""

from __future__ import annotations

import hashlib
import json

import genstudio_gan
import numpy as np
import pytest
import torch
from PIL import Image

from genstudio import generation
from genstudio.errors import UserError
from genstudio.generate_folder import generate_to_folder
from genstudio.models import save_model
from genstudio.plugins import discover
from genstudio.provenance import CHUNK, read_provenance

TINY = {"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return discover(entry_points=False, plugin_dir=tmp_path_factory.mktemp("plugins"), disabled=set(),
                    extra=[("gan", genstudio_gan)])


@pytest.fixture(autouse=True)
def _registry_for_loading(registry, monkeypatch):
    monkeypatch.setattr("genstudio.plugins.get_registry", lambda refresh=False: registry)


def make_model(registry, folder, backend="dcgan", seed=0, **settings):
    """An untrained (randomly initialised) model folder: generation does not care whether G is any good."""
    spec = registry.backend(backend)
    config = spec.schema.resolve({**TINY, **settings})
    torch.manual_seed(seed)
    module = spec.load().build(config)
    extra = {"class_names": [f"class {i}" for i in range(config["num_classes"])]} if backend == "cgan" else {}
    save_model(folder, spec, config, module.state_dict(), extra=extra)
    return folder


def digests(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.png"))}


def test_same_command_twice_gives_identical_bytes(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m")
    first = generate_to_folder(model, tmp_path / "g", count=6, seed=1, device="cpu")
    assert first.written == 6 and len(first.files) == 6
    before = digests(tmp_path / "g")
    second = generate_to_folder(model, tmp_path / "g", count=6, seed=1, device="cpu")
    assert (second.written, second.unchanged) == (0, 6)
    assert digests(tmp_path / "g") == before


def test_batch_size_and_count_do_not_change_images(registry, tmp_path, monkeypatch, single_torch_thread):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    model = make_model(registry, tmp_path / "m")
    generate_to_folder(model, tmp_path / "a", count=5, seed=3, batch_size=1, device="cpu")
    generate_to_folder(model, tmp_path / "b", count=8, seed=3, batch_size=8, device="cpu")
    a, b = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert a == {name: b[name] for name in a}  # same bytes: pixels and provenance, time from SOURCE_DATE_EPOCH
    assert read_provenance(tmp_path / "a" / "seed3-00000.png")["time"] == "2023-11-14T22:13:20+00:00"
    other_seed = generate_to_folder(model, tmp_path / "c", count=1, seed=4, device="cpu")
    pixels = np.asarray(Image.open(other_seed.files[0]))
    assert not np.array_equal(pixels, np.asarray(Image.open(tmp_path / "a" / "seed3-00000.png")))


def test_provenance_says_how_the_image_was_made(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m")
    summary = generate_to_folder(model, tmp_path / "g", count=2, seed=9, truncation=0.5, device="cpu")
    path = tmp_path / "g" / "seed9-00001-psi0.5.png"
    assert summary.files[1] == str(path)
    with Image.open(path) as image:
        record = json.loads(image.text[CHUNK])
        assert image.size == (32, 32) and image.mode == "L"
    card = json.loads((model / "model.json").read_text())
    assert record["backend"] == "dcgan" and record["plugin"] == "gan"
    assert record["model_sha256"] == card["weights_sha256"]
    assert record["parameters"] == {"seed": 9, "index": 1, "truncation": 0.5, "latents": "pcg64"}
    assert record["runtime"] == "torch" and record["device"].startswith("cpu")
    assert record["genstudio"] and record["time"].endswith("+00:00")


def test_images_match_the_generator_directly(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m")
    summary = generate_to_folder(model, tmp_path / "g", count=3, seed=2, device="cpu")
    from genstudio.models import load_model

    module = load_model(model).module
    z = generation.latent(2, 2, module.latent_dim)[None]
    with torch.no_grad():
        expected = (module.generate(z).clamp(0, 1)[0, 0] * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.asarray(Image.open(summary.files[2])), expected)


def test_damaged_or_stale_files_are_redone(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m")
    out = tmp_path / "g"
    generate_to_folder(model, out, count=3, seed=0, device="cpu")
    good = (out / "seed0-00001.png").read_bytes()
    (out / "seed0-00001.png").write_bytes(good[: len(good) // 2])  # truncated, as by a crash of another tool
    make_model(registry, tmp_path / "m", seed=1)  # retrained: new weights, new sha256
    again = generate_to_folder(model, out, count=3, seed=0, device="cpu")
    assert again.written == 3  # all stale (new model), the damaged one too
    assert read_provenance(out / "seed0-00001.png") is not None
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_conditional_labels_by_name_and_cycling(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m", backend="cgan", num_classes=3)
    cycled = generate_to_folder(model, tmp_path / "g", count=4, seed=0, device="cpu")
    labels = [read_provenance(path)["parameters"]["label"] for path in cycled.files]
    assert labels == [0, 1, 2, 0]
    named = generate_to_folder(model, tmp_path / "g", count=2, seed=0, label="class 2", grid=True,
                               device="cpu")
    assert named.files[0].endswith("seed0-00000-class_2.png")
    record = read_provenance(named.files[1])
    assert record["parameters"]["label"] == 2 and record["parameters"]["label_name"] == "class 2"
    assert named.grid and read_provenance(named.grid)["parameters"]["indices"] == [0, 1]
    with pytest.raises(UserError, match="unknown label"):
        generate_to_folder(model, tmp_path / "g", count=1, label="dog", device="cpu")


def test_errors_are_one_line(registry, tmp_path):
    with pytest.raises(UserError, match="count must be at least 1"):
        generate_to_folder(tmp_path, tmp_path / "g", count=0)
    with pytest.raises(UserError, match="model.json"):
        generate_to_folder(tmp_path / "nothing", tmp_path / "g", count=1, device="cpu")
    model = make_model(registry, tmp_path / "m")
    with pytest.raises(UserError, match="not conditional"):
        generate_to_folder(model, tmp_path / "g", count=1, label="1", device="cpu")
    assert not (tmp_path / "g").exists()  # nothing written before the checks passed
