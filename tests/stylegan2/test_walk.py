"""`genstudio walk` on a style-based generator: truncation in W with its cutoff and style mixing along the whole walk,
the same on onnxruntime as on PyTorch, and each frame reproduces on the runtime that made it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio.provenance import read_provenance

TINY = {"resolution": 8, "channels": 3, "latent_dim": 4, "w_dim": 4, "channel_base": 32, "channel_max": 4,
        "mapping_layers": 2}
STYLED = ["--truncation", "0.6", "--truncation-cutoff", "2", "--mix-with", "9", "--mix-from", "2"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry(refresh=True).backend("stylegan2")
    config = spec.schema.resolve(TINY)
    torch.manual_seed(0)
    module = spec.load().build(config)
    with torch.no_grad():  # an untrained G has noise strength 0 and w_avg 0: give both a value
        module.mapping.w_avg.normal_()
        for layer in module.synthesis.noise_layers:
            layer.noise_strength.fill_(0.5)
    folder = tmp_path_factory.mktemp("walk") / "sg2"
    save_model(folder, spec, config, module.state_dict())
    return folder


def invoke(*args: str) -> str:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image).astype(int)


def test_the_walk_passes_through_the_mixed_truncated_images_of_its_seeds(model, tmp_path, single_torch_thread):
    invoke("walk", str(model), "--seeds", "3,4", "--frames", "5", *STYLED, "--device", "cpu", "--runtime", "torch",
           "--out", str(tmp_path / "w"))
    invoke("generate", str(model), "--seed", "4", "--count", "1", *STYLED, "--device", "cpu", "--runtime", "torch",
           "--out", str(tmp_path / "g"))
    assert np.array_equal(png(tmp_path / "w" / "frame-00004.png"),
                          png(tmp_path / "g" / "seed4-00000-psi0.6-cut2-mix9from2.png"))
    invoke("walk", str(model), "--seeds", "3,4", "--frames", "5", "--device", "cpu", "--runtime", "torch",
           "--out", str(tmp_path / "plain"))
    for frame in range(5):  # truncation and mixing change every frame
        name = f"frame-{frame:05d}.png"
        assert not np.array_equal(png(tmp_path / "w" / name), png(tmp_path / "plain" / name))


def test_onnx_walks_like_torch_and_its_frames_reproduce(model, tmp_path, single_torch_thread):
    pytest.importorskip("onnxruntime")
    invoke("export", str(model))
    for runtime in ("torch", "onnx"):
        invoke("walk", str(model), "--seeds", "1,7,3", "--frames", "6", "--loop", *STYLED, "--device", "cpu",
               "--runtime", runtime, "--out", str(tmp_path / runtime))
    for frame in range(6):
        name = f"frame-{frame:05d}.png"
        assert np.abs(png(tmp_path / "torch" / name) - png(tmp_path / "onnx" / name)).max() <= 1
    onnx_frame = tmp_path / "onnx" / "frame-00003.png"
    record = read_provenance(onnx_frame)
    assert record["runtime"] == "onnx" and record["frame"] == 3
    output = invoke("reproduce", str(onnx_frame), "--out", str(tmp_path / "again.png"))
    assert "identical" in output.lower(), output
    assert np.array_equal(png(onnx_frame), png(tmp_path / "again.png"))
