"""ONNX export: parity per exportable GAN backend, what model.json records, failures that keep nothing."""

from __future__ import annotations

import json

import genstudio_gan
import numpy as np
import onnx
import pytest
import torch

from genstudio import generation
from genstudio.errors import UserError
from genstudio.export import ExportGraph, GraphInput, export_model, graphs_for
from genstudio.generate_folder import generate_to_folder
from genstudio.models import load_model, read_card, save_model
from genstudio.onnx_runtime import open_session
from genstudio.reproduce import reproduce

TINY = {"ngf": 4, "ndf": 4, "latent_dim": 8, "channels": 1}


@pytest.fixture
def registry(use_plugins):
    return use_plugins(gan=genstudio_gan)


def make_model(registry, folder, backend, **settings):
    spec = registry.backend(backend)
    config = spec.schema.resolve({**TINY, "resolution": 16 if backend == "gan" else 32, **settings})
    torch.manual_seed(0)
    module = spec.load().build(config)
    for name, buffer in module.named_buffers():  # batch-norm statistics away from their init values
        if name.endswith("running_mean"):
            buffer.normal_(0, 0.1)
        elif name.endswith("running_var"):
            buffer.uniform_(0.5, 1.5)
    save_model(folder, spec, config, module.state_dict())
    return folder


@pytest.mark.parametrize("backend", ["gan", "dcgan", "cgan"])
def test_every_gan_backend_exports_with_parity(registry, tmp_path, backend, single_torch_thread):
    model = make_model(registry, tmp_path / backend, backend, **({"num_classes": 3} if backend == "cgan" else {}))
    record = export_model(model)
    graph = record["graphs"]["model"]
    assert graph["max_abs_error"]["cpu"] < 1e-4
    assert graph["inputs"] == (["z", "labels"] if backend == "cgan" else ["z"])
    card = read_card(model)
    assert card.extra["onnx"]["parity_passed"] and card.extra["onnx"]["weights_sha256"] == card.weights_sha256
    proto = onnx.load(str(model / "model.onnx"))
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert json.loads(metadata["genstudio_card"])["backend"] == backend
    # dynamic batch: 5 latents in, 5 images out, equal to PyTorch's
    session = open_session(model / "model.onnx", "cpu")
    module = load_model(model).module
    z = generation.latents(0, range(5), 8)
    inputs = {"z": z.numpy()}
    labels = None
    if backend == "cgan":
        labels = torch.tensor([0, 1, 2, 0, 1])
        inputs["labels"] = labels.numpy()
    (images,) = session.run(inputs)
    with torch.no_grad():
        expected = module.generate(z, labels).numpy()
    assert images.shape == expected.shape and np.abs(images - expected).max() < 1e-4


def test_fp16_export_within_its_tolerance(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m", "dcgan")
    record = export_model(model, fp16=True)
    assert record["fp16"] and record["graphs"]["model"]["max_abs_error"]["cpu"] < record["tolerance"]


class _Broken(torch.nn.Module):
    """Exports fine, but its ONNX graph computes something else than PyTorch (a data-dependent branch)."""

    latent_dim = 4
    num_classes = 0

    def generate(self, z, labels=None):
        return z.sum(1, keepdim=True)[:, :, None, None].expand(-1, 1, 2, 2) * (2 if z.shape[0] == 2 else 1)

    def export_graphs(self):
        from genstudio.export import _Call

        return [ExportGraph("model", _Call(self, self.generate), [GraphInput("z", ("batch", 4))], ["images"],
                            {"images": {0: "batch"}})]


def test_parity_failure_is_an_error_and_keeps_no_file(registry, tmp_path, monkeypatch):
    model = make_model(registry, tmp_path / "m", "dcgan")
    broken = _Broken()
    real_load = load_model

    def load_broken(folder, **kwargs):
        loaded = real_load(folder, **kwargs)
        loaded.module = broken
        return loaded

    monkeypatch.setattr("genstudio.models.load_model", load_broken)
    with pytest.raises(UserError, match="parity check failed"):
        export_model(model)
    assert not (model / "model.onnx").exists()
    assert not list(model.glob(".*.tmp"))
    assert "onnx" not in read_card(model).extra


def test_recipes_and_refusals(registry, tmp_path):
    assert [g.name for g in graphs_for(_Broken())] == ["model"]
    model = make_model(registry, tmp_path / "m", "dcgan")
    with pytest.raises(UserError, match="opset"):
        export_model(model, opset=3)
    with pytest.raises(UserError, match=r"\.onnx"):
        export_model(model, out=tmp_path / "x.txt")
    shapes = registry.backend("dcgan").capabilities
    assert shapes.exportable


def test_generate_prefers_a_checked_export_and_reproduce_matches(registry, tmp_path, single_torch_thread):
    model = make_model(registry, tmp_path / "m", "dcgan")
    torch_run = generate_to_folder(model, tmp_path / "t", count=3, seed=2, device="cpu")
    assert torch_run.runtime == "torch"  # no export yet
    export_model(model)
    onnx_run = generate_to_folder(model, tmp_path / "o", count=3, seed=2, device="cpu")
    assert onnx_run.runtime == "onnx" and "CPUExecutionProvider" in onnx_run.device
    forced = generate_to_folder(model, tmp_path / "f", count=1, seed=2, device="cpu", runtime="torch")
    assert forced.runtime == "torch"
    for summary in (torch_run, onnx_run):
        result = reproduce(summary.files[1], tmp_path / f"again-{summary.runtime}.png")
        assert result.identical and result.runtime == summary.runtime
    # retrained weights: the old export no longer counts, auto falls back to torch and --runtime onnx refuses
    make_model(registry, model, "dcgan", latent_dim=8, ngf=5)
    assert generate_to_folder(model, tmp_path / "n", count=1, device="cpu").runtime == "torch"
    with pytest.raises(UserError, match="genstudio export"):
        generate_to_folder(model, tmp_path / "n", count=1, device="cpu", runtime="onnx")
    with pytest.raises(UserError, match="not the model"):
        reproduce(torch_run.files[0], tmp_path / "wrong.png")


@pytest.mark.parametrize("backend", ["vae", "cvae"])
def test_vae_exports_decoder_and_encoder(tmp_path, use_plugins, backend, single_torch_thread):
    import genstudio_vae

    found = use_plugins(vae=genstudio_vae)
    spec = found.backend(backend)
    config = spec.schema.resolve({"resolution": 32, "channels": 1, "latent_dim": 4, "width": 4,
                                  **({"num_classes": 3} if backend == "cvae" else {})})
    save_model(tmp_path / "m", spec, config, spec.load().build(config).state_dict())
    record = export_model(tmp_path / "m")
    assert set(record["graphs"]) == {"model", "encoder"}
    assert record["graphs"]["encoder"]["outputs"] == ["mean", "logvar"]
    assert all(g["max_abs_error"]["cpu"] < 1e-4 for g in record["graphs"].values())
    assert (tmp_path / "m" / "model.encoder.onnx").is_file()
    summary = generate_to_folder(tmp_path / "m", tmp_path / "g", count=2, device="cpu",
                                 label="1" if backend == "cvae" else None)
    assert summary.runtime == "onnx"


def test_fast_style_exports_and_stylizes_the_same_on_onnx(tmp_path, use_plugins, single_torch_thread):
    import genstudio_style
    from PIL import Image

    from genstudio.batch.stylize import stylize_folder

    found = use_plugins(style=genstudio_style)
    spec = found.backend("fast-style")
    config = spec.schema.resolve({"size": "lite"})
    torch.manual_seed(0)
    save_model(tmp_path / "m", spec, config, spec.load().build(config).state_dict())
    record = export_model(tmp_path / "m")
    assert record["graphs"]["model"]["inputs"] == ["content"]
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)).save(tmp_path / "in" / "odd.png")
    on_onnx = stylize_folder(str(tmp_path / "m"), [tmp_path / "in"], tmp_path / "o", strength=0.7)
    on_torch = stylize_folder(str(tmp_path / "m"), [tmp_path / "in"], tmp_path / "t", strength=0.7, runtime="torch")
    assert on_onnx.written == on_torch.written == 1
    a = np.asarray(Image.open(tmp_path / "o" / "odd.png"), dtype=int)
    b = np.asarray(Image.open(tmp_path / "t" / "odd.png"), dtype=int)
    assert a.shape == (45, 70, 3) and np.abs(a - b).max() <= 1
    from genstudio.provenance import read_provenance

    assert read_provenance(tmp_path / "o" / "odd.png")["runtime"] == "onnx"


def test_adain_exports_with_content_style_and_alpha_and_matches_torch(tmp_path, use_plugins, single_torch_thread):
    import genstudio_style
    from PIL import Image

    from genstudio.batch.stylize import stylize_folder
    from genstudio.provenance import read_provenance

    found = use_plugins(style=genstudio_style)
    spec = found.backend("adain")
    config = spec.schema.resolve({"decoder": "lite", "features": "random", "style_size": 40})
    torch.manual_seed(0)
    stylizer = spec.load().build(config)
    for layer in stylizer.decoder:  # He init: signal survives the untrained decoder, so alpha visibly matters
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    save_model(tmp_path / "m", spec, config, stylizer.state_dict())
    record = export_model(tmp_path / "m")
    assert record["graphs"]["model"]["inputs"] == ["content", "style", "alpha"]
    assert record["graphs"]["model"]["max_abs_error"]["cpu"] <= 1e-3
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    # 45 x 70: not a multiple of 8, so the in-graph reflection padding and crop must follow the input's size
    Image.fromarray(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)).save(tmp_path / "in" / "odd.png")
    Image.fromarray(rng.integers(0, 256, (90, 60, 3), dtype=np.uint8)).save(tmp_path / "style.png")
    outputs = {}
    for runtime in ("onnx", "torch"):
        summary = stylize_folder(str(tmp_path / "m"), [tmp_path / "in"], tmp_path / runtime,
                                 style=tmp_path / "style.png", strength=0.6, preserve_color=True, runtime=runtime)
        assert summary.written == 1 and read_provenance(tmp_path / runtime / "odd.png")["runtime"] == runtime
        outputs[runtime] = np.asarray(Image.open(tmp_path / runtime / "odd.png"), dtype=int)
    assert outputs["onnx"].shape == (45, 70, 3)
    assert np.abs(outputs["onnx"] - outputs["torch"]).max() <= 1
    # the strength reaches the graph as AdaIN's alpha: each alpha matches the torch path and they differ
    module = load_model(tmp_path / "m").module
    session = open_session(tmp_path / "m" / "model.onnx", "cpu")
    content, style = torch.rand(1, 3, 21, 30), module.prepare_style(torch.rand(3, 64, 48))
    results = {}
    for alpha in (0.0, 1.0):
        feeds = {"content": content.numpy(), "style": style.numpy(), "alpha": np.array([alpha], np.float32)}
        results[alpha] = session.run(feeds)[0]
        with torch.no_grad():
            expected = module.transfer(content, [module.style_statistics(style)], [1.0], alpha)
        assert np.abs(results[alpha] - expected.numpy()).max() < 1e-3
    assert np.abs(results[0.0] - results[1.0]).max() > 1e-2


def test_cuda_torch_beside_a_cpu_only_onnxruntime_exports_with_cpu_parity(registry, tmp_path, monkeypatch):
    """Seen on a GPU machine: torch saw the GPU, onnxruntime was the CPU-only wheel, and export asked onnxruntime
    for the CUDA provider and failed. The parity check runs on the providers onnxruntime really has."""
    from genstudio import onnx_runtime

    monkeypatch.setattr(onnx_runtime, "_cuda_usable", lambda: True)  # a CUDA device is there
    monkeypatch.setattr(onnx_runtime._ort(), "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert not onnx_runtime.cuda_provider_usable()
    assert onnx_runtime.requested_providers("auto") == ["CPUExecutionProvider"]
    model = make_model(registry, tmp_path / "dcgan", "dcgan")
    record = export_model(model)
    assert list(record["graphs"]["model"]["max_abs_error"]) == ["cpu"]
