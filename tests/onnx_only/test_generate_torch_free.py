"""`genstudio generate` on a model folder whose checked export runs never imports torch (latents drawn by numpy,
the twin's facts read from model.json, a style model's fixed noise from the export's safetensors file), gives
the pixels the torch runtime gives, and reproduces without torch; records made before the numpy latents
(no "latents" parameter) still reproduce, with torch's generator."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from genstudio.provenance import read_provenance

from .conftest import pixels

BACKENDS = {  # tiny configs: the folder is made in-process, the commands run in fresh processes
    "cgan": {"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1, "num_classes": 3},
    "stylegan2": {"resolution": 8, "channels": 1, "latent_dim": 4, "w_dim": 4, "channel_base": 32, "channel_max": 4,
                  "mapping_layers": 2, "conditional": True, "num_classes": 3},
}


def exported(tmp_path, backend: str):
    import torch

    from genstudio.export import export_model
    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend(backend)
    config = spec.schema.resolve(BACKENDS[backend])
    torch.manual_seed(0)
    module = spec.load().build(config)
    if backend == "stylegan2":  # visible truncation and noise: w_avg away from 0, the noise strength on
        with torch.no_grad():
            module.mapping.w_avg.normal_()
            for layer in module.synthesis.noise_layers:
                layer.noise_strength.fill_(0.3)
    folder = tmp_path / backend
    save_model(folder, spec, config, module.state_dict(), extra={"class_names": ["ant", "bee", "cat"]})
    export_model(folder)
    return folder


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_generate_on_an_export_needs_no_torch_and_matches_the_torch_runtime(genstudio, tmp_path, backend,
                                                                            single_torch_thread):
    folder = exported(tmp_path, backend)
    styled = ["--truncation", "0.6", "--mix-with", "5", "--mix-from", "2"] if backend == "stylegan2" else \
        ["--truncation", "0.6"]
    onnx = genstudio("generate", folder, "--count", "5", "--seed", "3", "--label", "bee", *styled, "--grid",
                     "--out", tmp_path / "onnx", "--json", site=None)
    assert (onnx.code, onnx.torch) == (0, False), onnx.errors
    summary = onnx.json()
    assert summary["runtime"] == "onnx" and summary["written"] == 5
    files = sorted(p for p in (tmp_path / "onnx").glob("seed3-0000*.png"))
    record = read_provenance(files[2])
    assert record["runtime"] == "onnx" and record["parameters"]["latents"] == "pcg64"
    assert record["parameters"]["label_name"] == "bee" and record["parameters"]["truncation"] == 0.6

    remade = genstudio("reproduce", files[2], "--out", tmp_path / "again.png", "--json", site=None)
    assert (remade.code, remade.torch) == (0, False), remade.errors
    assert remade.json()["identical"] and remade.json()["runtime"] == "onnx"

    torch_run = genstudio("generate", folder, "--count", "5", "--seed", "3", "--label", "bee", *styled, "--grid",
                          "--out", tmp_path / "torch", "--runtime", "torch", "--device", "cpu", site=None)
    assert (torch_run.code, torch_run.torch) == (0, True), torch_run.errors  # so the check above can fail
    for file in files:
        assert np.abs(pixels(file) - pixels(tmp_path / "torch" / file.name)).max() <= 2, file.name
    grids = [pixels(next((tmp_path / runtime).glob("seed3-grid*.png"))) for runtime in ("onnx", "torch")]
    assert grids[0].shape == grids[1].shape and np.abs(grids[0] - grids[1]).max() <= 2


def test_an_export_from_before_the_twin_record_still_generates_through_torch(genstudio, tmp_path):
    folder = exported(tmp_path, "cgan")
    card = json.loads((folder / "model.json").read_text())
    del card["extra"]["onnx"]["twin"]  # what `genstudio export` wrote before it recorded the twin's facts
    (folder / "model.json").write_text(json.dumps(card))
    result = genstudio("generate", folder, "--count", "2", "--out", tmp_path / "out", "--json", site=None)
    assert (result.code, result.torch) == (0, True), result.errors
    assert result.json()["runtime"] == "onnx"


def test_a_damaged_twin_record_or_fixed_input_file_is_one_line(genstudio, tmp_path):
    folder = exported(tmp_path, "stylegan2")
    (folder / "model.inputs.safetensors").write_bytes(b"not the noise")
    result = genstudio("generate", folder, "--count", "1", "--out", tmp_path / "out", site=None)
    assert result.code == 2 and len(result.errors) == 1
    assert "model.inputs.safetensors does not match the sha256" in result.errors[0], result.errors


def test_a_record_without_latents_is_redrawn_with_torch_s_generator(tmp_path, single_torch_thread):
    """Images made before the numpy latents name no rule; reproduce draws them as they were drawn."""
    from genstudio.generate_folder import open_sampler
    from genstudio.latents import LEGACY_RULE
    from genstudio.provenance import write_png
    from genstudio.reproduce import reproduce

    folder = exported(tmp_path, "cgan")
    sampler = open_sampler(folder, runtime="torch", device="cpu")
    old = sampler.record(4, 2, 1, 1.0, rule=LEGACY_RULE)
    assert "latents" not in old["parameters"]
    (sample,) = sampler.samples(4, [2], label=1, rule=LEGACY_RULE)
    write_png(tmp_path / "old.png", sample.image, old)
    (new,) = sampler.samples(4, [2], label=1)
    assert not np.array_equal(np.asarray(sample.image), np.asarray(new.image))  # the rules draw different latents
    result = reproduce(tmp_path / "old.png", tmp_path / "again.png")
    assert result.identical
    assert "latents" not in read_provenance(tmp_path / "again.png")["parameters"]


def test_an_onnx_only_generator_generates_and_reproduces_without_torch(genstudio, tmp_path):
    """The example plugin's plasma-onnx (installed as users install it) draws the textures the torch plasma backend
    draws from the same latents; its graph's sha256 is the record's weights."""
    from .conftest import EXAMPLE

    graph = hashlib.sha256((EXAMPLE / "genstudio_example" / "graphs" / "plasma.onnx").read_bytes()).hexdigest()
    made = genstudio("generate", "plasma-onnx", "--count", "3", "--seed", "5", "--grid", "--out", tmp_path / "onnx",
                     "--json")
    assert (made.code, made.torch) == (0, False), made.errors
    assert made.json()["runtime"] == "onnx" and made.json()["written"] == 3
    record = read_provenance(tmp_path / "onnx" / "seed5-00002.png")
    assert record["model_sha256"] == graph and record["weights"] == {"plasma-onnx": graph}
    assert record["backend"] == "plasma-onnx" and record["model"] == "plasma-onnx"
    remade = genstudio("reproduce", tmp_path / "onnx" / "seed5-00002.png", "--out", tmp_path / "again.png", "--json")
    assert (remade.code, remade.torch) == (0, False), remade.errors
    assert remade.json()["identical"]

    torch_made = genstudio("generate", "plasma", "--count", "3", "--seed", "5", "--out", tmp_path / "torch",
                           "--device", "cpu")
    assert (torch_made.code, torch_made.torch) == (0, True), torch_made.errors
    for i in range(3):
        name = f"seed5-0000{i}.png"
        assert np.abs(pixels(tmp_path / "onnx" / name) - pixels(tmp_path / "torch" / name)).max() <= 1, name

    refused = genstudio("generate", "plasma-onnx", "--out", tmp_path / "x", "--runtime", "torch")
    assert refused.code == 2 and not refused.torch and len(refused.errors) == 1
    assert "is ONNX-only (plugin example): it runs on onnxruntime; drop --runtime torch" in refused.errors[0]
