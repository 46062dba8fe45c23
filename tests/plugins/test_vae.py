"""The built-in `vae` plugin: its two descriptors and the module `build(config)` gives (shapes, labels, saving)."""

from __future__ import annotations

import os
import subprocess
import sys

import genstudio_vae
import pytest
import torch

from genstudio.backends import AutoencoderModel, BackendKind, GeneratorModel, check_model_kind
from genstudio.errors import UserError
from genstudio.generation import generate
from genstudio.models import load_model, save_model
from genstudio.plugins import discover

TINY = {"width": 4, "latent_dim": 6, "channels": 1}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugins")
    found = discover(entry_points=False, plugin_dir=folder, disabled=set(), extra=[("vae", genstudio_vae)])
    assert found.plugins["vae"].status == "loaded", found.plugins["vae"].error
    return found


def build(registry, backend: str, **settings):
    spec = registry.backend(backend)
    return spec.load().build(spec.schema.resolve({**TINY, **settings}))


def test_descriptors(registry):
    for backend, conditional in [("vae", False), ("cvae", True)]:
        spec = registry.backend(backend)
        assert spec.kind is BackendKind.AUTOENCODER
        assert spec.loader == f"genstudio_vae.backend:{backend.upper()}"
        assert (spec.plugin, spec.plugin_version) == ("vae", genstudio_vae.__version__)
        assert (spec.capabilities.trainable, spec.capabilities.conditional) == (True, conditional)
        assert all(item.help for item in spec.schema)
        defaults = spec.schema.defaults()
        assert (defaults["likelihood"], defaults["beta"], defaults["kl_warmup_steps"]) == ("bernoulli", 1.0, 0)
        assert 0 < defaults["validation_fraction"] < 1
        fields = {item.name: item for item in spec.schema}
        assert fields["likelihood"].choices == ("bernoulli", "gaussian")
        assert fields["gaussian_variance"].choices == ("learned", "fixed")
    assert "num_classes" in registry.backend("cvae").schema.defaults()
    assert "num_classes" not in registry.backend("vae").schema.defaults()


def test_listing_does_not_import_torch():
    code = "import sys, genstudio_vae; genstudio_vae.register_backends(); assert 'torch' not in sys.modules"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_bad_shapes_are_user_errors(registry):
    with pytest.raises(UserError, match="channels"):
        build(registry, "vae", channels=2)
    with pytest.raises(UserError, match="resolution: expected one of 32, 64, 128; got 48"):  # the schema refuses it
        build(registry, "vae", resolution=48)


@pytest.mark.parametrize(("backend", "resolution", "channels"), [("vae", 32, 1), ("vae", 64, 3), ("cvae", 32, 3)])
def test_encode_decode_shapes_and_range(registry, backend, resolution, channels):
    torch.manual_seed(0)
    model = build(registry, backend, resolution=resolution, channels=channels, num_classes=3) if backend == "cvae" \
        else build(registry, backend, resolution=resolution, channels=channels)
    check_model_kind(registry.backend(backend), model)
    assert isinstance(model, AutoencoderModel) and isinstance(model, GeneratorModel)
    assert model.num_classes == (3 if backend == "cvae" else 0)
    x = torch.rand(5, channels, resolution, resolution)
    labels = torch.tensor([0, 1, 2, 0, 1]) if backend == "cvae" else None
    mu, logvar = model.encode(x, labels)
    assert mu.shape == logvar.shape == (5, 6)
    for images in (model.decode(mu, labels), model.reconstruct(x, labels), model.generate(torch.randn(5, 6))):
        assert images.shape == (5, channels, resolution, resolution)
        assert images.min() >= 0 and images.max() <= 1
    assert model.elbo(x, labels).shape == (5,)
    assert model.iwae_log_likelihood(x, labels, k=3).shape == (5,)
    assert torch.equal(model.reconstruct(x, labels), model.decode(mu, labels))  # the posterior mean's decoding


def test_wrong_inputs_are_errors(registry):
    model = build(registry, "cvae", num_classes=3)
    with pytest.raises(ValueError, match="images must be"):
        model.encode(torch.rand(2, 3, 32, 32), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="pass labels"):
        model.encode(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="labels must be"):
        model.decode(torch.randn(2, 6), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="z must be"):
        model.decode(torch.randn(2, 5))


def test_cvae_labels_change_encoding_and_decoding(registry):
    torch.manual_seed(0)
    model = build(registry, "cvae", num_classes=3)
    x, z = torch.rand(2, 1, 32, 32), torch.randn(2, 6)
    assert not torch.allclose(model.encode(x, torch.tensor([0, 0]))[0], model.encode(x, torch.tensor([1, 1]))[0])
    assert not torch.allclose(model.decode(z, torch.tensor([0, 0])), model.decode(z, torch.tensor([2, 2])))
    cycled = model.decode(torch.randn(1, 6).repeat(4, 1))  # one z, no labels: classes 0, 1, 2, 0
    assert torch.allclose(cycled[0], cycled[3]) and not torch.allclose(cycled[0], cycled[1])


def test_gaussian_variance_learned_or_fixed(registry):
    learned = build(registry, "vae", likelihood="gaussian", gaussian_variance="learned", gaussian_std=0.2)
    fixed = build(registry, "vae", likelihood="gaussian", gaussian_variance="fixed", gaussian_std=0.2)
    assert isinstance(learned.log_std, torch.nn.Parameter) and learned.log_std.requires_grad
    assert not isinstance(fixed.log_std, torch.nn.Parameter)
    assert float(fixed.log_std.exp()) == pytest.approx(0.2) and learned.log_std.exp().item() == pytest.approx(0.2)
    assert "log_std" in learned.state_dict() and "log_std" in fixed.state_dict()
    assert build(registry, "vae").log_std is None


def test_save_load_round_trip_and_generic_sampling(registry, tmp_path):
    torch.manual_seed(0)
    spec = registry.backend("cvae")
    config = spec.schema.resolve({**TINY, "num_classes": 3})
    model = spec.load().build(config)
    save_model(tmp_path / "m", spec, config, model.state_dict())
    loaded = load_model(tmp_path / "m", registry=registry).module
    x, labels = torch.rand(3, 1, 32, 32), torch.tensor([2, 1, 0])
    assert torch.equal(loaded.reconstruct(x, labels), model.eval().reconstruct(x, labels))
    samples = list(generate(loaded, seed=1, indices=[0, 1, 2, 3], label=2))  # genstudio generate's path
    assert [s.label for s in samples] == [2, 2, 2, 2] and samples[0].image.shape == (1, 32, 32)
