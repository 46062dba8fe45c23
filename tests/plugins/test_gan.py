"""The built-in `gan` plugin: its three descriptors and the networks `build(config)` gives."""

from __future__ import annotations

import os
import subprocess
import sys

import genstudio_gan
import pytest
import torch
from torch import nn

from genstudio.backends import BackendKind, GeneratorModel, check_model_kind
from genstudio.errors import UserError
from genstudio.plugins import discover

TINY = {"ngf": 8, "ndf": 8, "latent_dim": 16}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugins")
    found = discover(entry_points=False, plugin_dir=folder, disabled=set(), extra=[("gan", genstudio_gan)])
    assert found.plugins["gan"].status == "loaded", found.plugins["gan"].error
    return found


def config(registry, backend: str, **settings):
    return registry.backend(backend).schema.resolve({**TINY, **settings})


def build(registry, backend: str, **settings):
    return registry.backend(backend).load().build(config(registry, backend, **settings))


def discriminator(registry, backend: str, **settings):
    return registry.backend(backend).load().build_discriminator(config(registry, backend, **settings))


# -- the descriptors --------------------------------------------------------------------------------------------


def test_descriptors(registry):
    for backend, conditional in [("gan", False), ("dcgan", False), ("cgan", True)]:
        spec = registry.backend(backend)
        assert spec.kind is BackendKind.GENERATOR
        assert spec.loader == f"genstudio_gan.backend:{backend.upper()}"
        assert (spec.plugin, spec.plugin_version) == ("gan", genstudio_gan.__version__)
        caps = spec.capabilities
        assert (caps.trainable, caps.conditional, caps.exportable) == (True, conditional, True)
        assert all(item.help for item in spec.schema)
        defaults = spec.schema.defaults()
        assert defaults["loss"] == "nonsaturating" and defaults["n_critic"] == 1 and defaults["r1_gamma"] == 0.0
        assert defaults["channels"] == 3 and defaults["optimizer"] == "adam"
        assert (defaults["lr_g"], defaults["lr_d"], defaults["beta1"], defaults["beta2"]) == (2e-4, 2e-4, 0.5, 0.999)
        fields = {item.name: item for item in spec.schema}
        assert fields["loss"].choices == ("nonsaturating", "lsgan", "hinge", "wgan-gp")
        assert "color,translation,cutout" in fields["diffaugment"].choices and "none" in fields["diffaugment"].choices
    assert registry.backend("dcgan").schema.defaults()["resolution"] == 64
    assert {"num_classes", "conditioning"} <= set(registry.backend("cgan").schema.defaults())
    assert "hidden_layers" in registry.backend("gan").schema.defaults()


def test_listing_does_not_import_torch():
    code = "import sys, genstudio_gan; genstudio_gan.register_backends(); assert 'torch' not in sys.modules"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_bad_shapes_are_user_errors(registry):
    with pytest.raises(UserError, match="channels"):
        build(registry, "dcgan", channels=2)
    with pytest.raises(UserError, match="resolution: expected one of 32, 64, 128; got 48"):  # the schema refuses it
        build(registry, "dcgan", resolution=48)
    with pytest.raises(UserError):
        registry.backend("cgan").schema.resolve({"conditioning": "sum"})
    with pytest.raises(UserError):
        registry.backend("gan").schema.resolve({"channels": 4})


# -- the generators ---------------------------------------------------------------------------------------------

SHAPES = [("gan", 16, 1), ("gan", 32, 3)] + [
    (backend, resolution, channels)
    for backend in ("dcgan", "cgan")
    for resolution in (32, 64, 128)
    for channels in (1, 3)
]


@pytest.mark.parametrize(("backend", "resolution", "channels"), SHAPES)
def test_output_shapes_and_range(registry, backend, resolution, channels):
    settings = {"resolution": resolution, "channels": channels}
    if backend == "cgan":
        settings["num_classes"] = 3
    model = build(registry, backend, **settings)
    assert isinstance(model, nn.Module) and isinstance(model, GeneratorModel)
    check_model_kind(registry.backend(backend), model)
    assert model.latent_dim == 16 and model.num_classes == (3 if backend == "cgan" else 0)
    z = torch.randn(4, 16)
    labels = torch.tensor([0, 1, 2, 0]) if backend == "cgan" else None
    images = model.generate(z, labels)
    assert images.shape == (4, channels, resolution, resolution)
    assert images.min() >= 0 and images.max() <= 1
    assert torch.equal(model(z, labels), images)  # forward is generate (train-mode batch norm: same batch)
    logits = discriminator(registry, backend, **settings)(images * 2 - 1, labels)
    assert logits.shape == (4,)


def test_dcgan_64_has_the_papers_shapes(registry):
    model = build(registry, "dcgan", ngf=64, latent_dim=100)
    convs = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(100, 512), (512, 256), (256, 128), (128, 64),
                                                                  (64, 3)]
    d = discriminator(registry, "dcgan", ndf=64, spectral_norm=False)
    assert [(m.in_channels, m.out_channels) for m in d.modules() if isinstance(m, nn.Conv2d)] == [
        (3, 64), (64, 128), (128, 256), (256, 512), (512, 1)]


def test_dcgan_init(registry):
    model = build(registry, "dcgan", ngf=32)
    weights = torch.cat([m.weight.detach().flatten() for m in model.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(float(weights.std()) - 0.02) < 0.002 and abs(float(weights.mean())) < 0.002


def test_cgan_labels_change_the_output(registry):
    model = build(registry, "cgan", resolution=32, num_classes=4).eval()
    z = torch.randn(3, 16)
    images = model.generate(z, torch.zeros(3, dtype=torch.long))
    by_label = (model.generate(z, torch.tensor([1, 2, 3])) - images).abs().mean(dim=(1, 2, 3))
    by_z = (model.generate(torch.randn(3, 16), torch.zeros(3, dtype=torch.long)) - images).abs().mean(dim=(1, 2, 3))
    assert by_label.min() > 0.2 * by_z.max()  # at initialisation, a label moves the image about as much as z does
    z = torch.randn(6, 16)
    assert torch.equal(model.generate(z), model.generate(z, torch.tensor([0, 1, 2, 3, 0, 1])))  # no labels: cycle
    with pytest.raises(ValueError, match="labels"):
        model.generate(torch.randn(2, 16), torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="16"):
        model.generate(torch.randn(2, 10))


@pytest.mark.parametrize("backend", ["gan", "dcgan", "cgan"])
def test_same_config_same_parameter_shapes(registry, backend):
    settings = {"resolution": 32, "channels": 1}
    shapes = [{k: v.shape for k, v in build(registry, backend, **settings).state_dict().items()} for _ in range(2)]
    assert shapes[0] == shapes[1] and shapes[0]
    wider = {k: v.shape for k, v in build(registry, backend, **settings, ngf=16).state_dict().items()}
    assert wider != shapes[0]
    # Options that concern only D or training leave G's saved tensors alone.
    other = build(registry, backend, **settings, loss="hinge", spectral_norm=False, minibatch_std=True)
    assert {k: v.shape for k, v in other.state_dict().items()} == shapes[0]


# -- the discriminators -----------------------------------------------------------------------------------------


def _has_spectral_norm(module: nn.Module) -> bool:
    return any(hasattr(m, "parametrizations") for m in module.modules())


@pytest.mark.parametrize("backend", ["gan", "dcgan", "cgan"])
def test_spectral_norm_and_minibatch_std_change_d(registry, backend):
    plain = discriminator(registry, backend, resolution=32, spectral_norm=False, minibatch_std=False)
    normed = discriminator(registry, backend, resolution=32, spectral_norm=True, minibatch_std=False)
    with_std = discriminator(registry, backend, resolution=32, spectral_norm=False, minibatch_std=True)
    assert not _has_spectral_norm(plain) and _has_spectral_norm(normed)
    assert not any(isinstance(m, genstudio_gan.networks.MinibatchStd) for m in plain.modules())
    assert any(isinstance(m, genstudio_gan.networks.MinibatchStd) for m in with_std.modules())
    if backend != "gan":  # SN replaces D's batch norm; the last conv sees one more channel with minibatch std
        assert any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
        assert not any(isinstance(m, nn.BatchNorm2d) for m in normed.modules())
        assert with_std.head.in_channels == plain.head.in_channels + 1


def test_wgan_gp_critic_has_no_batch_norm(registry):
    critic = discriminator(registry, "dcgan", resolution=32, spectral_norm=False, loss="wgan-gp")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())


def test_minibatch_std_value():
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0]])  # per-feature std over the batch: 1 and 0
    out = genstudio_gan.networks.MinibatchStd()(x)
    assert out.shape == (2, 3) and torch.allclose(out[:, 2], torch.tensor([0.5, 0.5]), atol=1e-3)


def test_cgan_conditioning(registry):
    labels = torch.tensor([0, 1, 2, 0])
    x = torch.randn(4, 3, 32, 32)
    concat = discriminator(registry, "cgan", resolution=32, num_classes=3, conditioning="concat")
    assert concat.features[0].in_channels == 3 + 3 and concat.embed is None
    projection = discriminator(registry, "cgan", resolution=32, num_classes=3, conditioning="projection").eval()
    assert projection.features[0].in_channels == 3 and projection.embed.num_embeddings == 3
    for d in (concat.eval(), projection):
        assert not torch.allclose(d(x, labels), d(x, torch.tensor([1, 2, 0, 1])))
        with pytest.raises(ValueError, match="labels"):
            d(x)
