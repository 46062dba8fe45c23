"""The example third-party plugin in examples/genstudio-plugin-example, loaded in process (not installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genstudio.backends import BackendKind, GeneratorModel, check_model_kind
from genstudio.plugins import discover

# The example is its own distribution and is not installed in the test environment; import it from its folder.
# (Installing it with `genstudio plugins install` is tested separately.)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "genstudio-plugin-example"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

import genstudio_example  # noqa: E402
import genstudio_shapes  # noqa: E402


@pytest.fixture
def registry(tmp_path):
    plugins = [("example", genstudio_example), ("shapes", genstudio_shapes)]
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set(), extra=plugins)
    assert registry.plugins["example"].status == "loaded", registry.plugins["example"].error
    return registry


@pytest.fixture
def spec(registry):
    return registry.backend("plasma")


def build(spec, **settings):
    return spec.load().build(spec.schema.resolve(settings))


def latents(model, count: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, model.latent_dim, generator=torch.Generator().manual_seed(seed))


def test_descriptor(registry, spec):
    assert registry.plugins["example"].backends == ["plasma", "tinystyle", "plasma-onnx"]
    assert (spec.plugin, spec.plugin_version) == ("example", "0.3.0")
    assert spec.kind is BackendKind.GENERATOR
    assert spec.loader == "genstudio_example.plasma:PlasmaBackend"
    assert not spec.capabilities.trainable and not spec.capabilities.conditional
    assert spec.schema.defaults() == {"resolution": 64, "octaves": 4, "colormap": "fire"}
    fields = {item.name: item for item in spec.schema}
    assert (fields["octaves"].min, fields["octaves"].max) == (1, 6)
    assert fields["colormap"].choices == ("fire", "ocean", "grey")


def test_listing_does_not_import_torch():
    code = "import sys, genstudio_example; genstudio_example.register_backends(); assert 'torch' not in sys.modules"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_upgrade_renames_levels(registry):
    hook = registry.manager.hook.upgrade_model_config
    saved = {"resolution": 32, "levels": 3, "colormap": "ocean"}
    upgraded = hook(backend="plasma", plugin_version="0.0.1", config=saved)
    assert upgraded == {"resolution": 32, "octaves": 3, "colormap": "ocean"}
    assert saved == {"resolution": 32, "levels": 3, "colormap": "ocean"}  # the caller's dict is left alone
    registry.backend("plasma").schema.resolve(upgraded)  # and the result is a valid config


def test_upgrade_leaves_other_configs_alone(registry):
    hook = registry.manager.hook.upgrade_model_config
    assert hook(backend="plasma", plugin_version="0.0.1", config={"octaves": 3}) is None
    assert hook(backend="shapes", plugin_version="0.0.1", config={"levels": 3}) is None


def test_build_gives_an_unconditional_generator(spec):
    model = build(spec)
    assert isinstance(model, GeneratorModel)
    check_model_kind(spec, model)
    assert model.num_classes == 0
    assert model.latent_dim == 2 * 2 + 3 * 3 + 5 * 5 + 9 * 9  # one grid per octave, 2^k + 1 points a side
    assert build(spec, octaves=1).latent_dim == 4


@pytest.mark.parametrize("octaves", [1, 4, 6])
def test_output_shape_and_range(spec, octaves):
    model = build(spec, octaves=octaves, resolution=48)
    images = model.generate(latents(model, 3))
    assert images.shape == (3, 3, 48, 48) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert images.std(dim=(1, 2, 3)).min() > 0.02  # a texture, not a flat colour


def test_resolution_sets_the_image_size(spec):
    model = build(spec, resolution=20)
    assert model(latents(model, 1)).shape == (1, 3, 20, 20)  # forward is generate


def test_deterministic_and_independent_of_the_batch(spec):
    model = build(spec)
    z = latents(model, 8)
    batch = model.generate(z)
    assert torch.equal(batch, model.generate(z.clone()))
    for i in (0, 3, 7):
        assert torch.equal(batch[i : i + 1], model.generate(z[i : i + 1]))
    assert not torch.equal(batch[0], batch[1])


def test_colormaps_differ(spec):
    z = latents(build(spec), 2)
    images = {name: build(spec, colormap=name).generate(z) for name in ("fire", "ocean", "grey")}
    for a, b in [("fire", "ocean"), ("fire", "grey"), ("ocean", "grey")]:
        assert (images[a] - images[b]).abs().mean() > 0.05
    grey = images["grey"]
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    fire = images["fire"]
    assert torch.all(fire[:, 0] >= fire[:, 2])  # the fire ramp is never bluer than it is red


def test_octaves_add_detail(spec):
    """More octaves add finer structure: neighbouring pixels differ more."""
    z = latents(build(spec, octaves=6), 4)

    def roughness(octaves: int) -> float:
        model = build(spec, octaves=octaves, colormap="grey")
        image = model.generate(z[:, : model.latent_dim])  # the first grids are shared: same coarse layout
        return float((image[..., 1:] - image[..., :-1]).abs().mean())

    assert roughness(6) > 1.5 * roughness(2)
