"""The built-in `shapes` plugin: its descriptor, and the procedural renderer behind it."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import genstudio_shapes
import pytest
import torch

from genstudio.backends import BackendKind, GeneratorModel, check_model_kind
from genstudio.errors import UserError
from genstudio.plugins import discover

CIRCLE, SQUARE, TRIANGLE = 0, 1, 2


@pytest.fixture
def spec(tmp_path):
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set(), extra=[("shapes", genstudio_shapes)])
    assert registry.plugins["shapes"].status == "loaded", registry.plugins["shapes"].error
    return registry.backend("shapes")


def build(spec, **settings):
    return spec.load().build(spec.schema.resolve(settings))


def latents(count: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, 44, generator=torch.Generator().manual_seed(seed))


# -- the descriptor ---------------------------------------------------------------------------------------------


def test_descriptor(spec):
    assert spec.kind is BackendKind.GENERATOR
    assert spec.loader == "genstudio_shapes.render:ShapesBackend"
    assert (spec.plugin, spec.plugin_version) == ("shapes", "0.1.0")
    caps = spec.capabilities
    assert (caps.trainable, caps.conditional, caps.exportable, caps.needs_style_image) == (False, True, False, False)
    assert spec.schema.defaults() == {
        "resolution": 64,
        "shapes_per_image": 1,
        "palette": "vivid",
        "background": "white",
        "softness": 1.0,
    }
    fields = {item.name: item for item in spec.schema}
    assert (fields["resolution"].min, fields["resolution"].max) == (16, 512)
    assert (fields["shapes_per_image"].min, fields["shapes_per_image"].max) == (1, 6)
    assert (fields["softness"].min, fields["softness"].max) == (0.25, 4.0)
    assert fields["palette"].choices == ("vivid", "pastel", "mono")
    assert fields["background"].choices == ("white", "black", "gradient")
    assert all(item.help for item in spec.schema)


def test_schema_rejects_out_of_range(spec):
    with pytest.raises(UserError):
        spec.schema.resolve({"resolution": 8})
    with pytest.raises(UserError):
        spec.schema.resolve({"shapes_per_image": 7})


def test_listing_does_not_import_torch():
    code = "import sys, genstudio_shapes; genstudio_shapes.register_backends(); assert 'torch' not in sys.modules"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


# -- the built module -------------------------------------------------------------------------------------------


def test_build_gives_a_generator(spec):
    model = build(spec)
    assert isinstance(model, torch.nn.Module)
    assert isinstance(model, GeneratorModel)
    check_model_kind(spec, model)
    assert (model.latent_dim, model.num_classes) == (44, 3)
    assert tuple(model.class_names) == ("circle", "square", "triangle")
    assert model.state_dict() == {} and not list(model.parameters())  # nothing learned, nothing saved


@pytest.mark.parametrize("palette", ["vivid", "pastel", "mono"])
@pytest.mark.parametrize("background", ["white", "black", "gradient"])
def test_output_shape_and_range(spec, palette, background):
    model = build(spec, palette=palette, background=background, shapes_per_image=3)
    images = model.generate(latents(4))
    assert images.shape == (4, 3, 64, 64) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert images.std(dim=(1, 2, 3)).min() > 0.01  # every image shows something
    if palette == "mono":
        assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])


def test_resolution_sets_the_image_size(spec):
    assert build(spec, resolution=32).generate(latents(2)).shape == (2, 3, 32, 32)
    assert build(spec, resolution=100)(latents(1)).shape == (1, 3, 100, 100)  # forward is generate


def test_deterministic_and_independent_of_the_batch(spec):
    model = build(spec, shapes_per_image=4, background="gradient")
    z = latents(8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    batch = model.generate(z, labels)
    assert torch.equal(batch, model.generate(z.clone(), labels.clone()))
    for i in (0, 5, 7):
        assert torch.equal(batch[i : i + 1], model.generate(z[i : i + 1], labels[i : i + 1]))


def test_labels_change_only_the_shape(spec):
    model = build(spec, palette="mono", background="black")
    z = latents(3, seed=1)
    images = [model.generate(z, torch.full((3,), label)) for label in (CIRCLE, SQUARE, TRIANGLE)]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert (images[a] - images[b]).abs().amax(dim=(1, 2, 3)).min() > 0.3
    # Equal-area shapes in the same colour: the total ink is the same whatever the class.
    ink = torch.stack([image.sum(dim=(1, 2, 3)) for image in images])
    assert torch.allclose(ink[1:], ink[0].expand(2, -1), rtol=0.01)


@pytest.mark.parametrize("label", [CIRCLE, SQUARE, TRIANGLE])
def test_covered_area_matches_pi_r_squared(spec, label):
    size = 128
    model = build(spec, resolution=size, palette="mono", background="black")
    z = latents(6, seed=2)
    labels = torch.full((6,), label)
    layout = model.layout(z, labels)
    images = model.generate(z, labels)
    grey = layout.colours[:, 0, 0]  # on black, a pixel is grey x coverage
    coverage = images[:, 0] / grey[:, None, None]  # N x R x R
    expected = math.pi * (layout.radii[:, 0] * size) ** 2  # in pixels
    assert torch.allclose(coverage.sum(dim=(1, 2)), expected, rtol=0.01)
    # ... and the shape sits where the layout says: the coverage's centroid is the shape's centre.
    axis = (torch.arange(size) + 0.5) / size
    centroid_x = (coverage.sum(dim=1) * axis).sum(dim=1) / coverage.sum(dim=(1, 2))
    centroid_y = (coverage.sum(dim=2) * axis).sum(dim=1) / coverage.sum(dim=(1, 2))
    assert torch.allclose(torch.stack([centroid_x, centroid_y], 1), layout.centres[:, 0], atol=1 / size)


def test_circle_is_round(spec):
    size = 96
    model = build(spec, resolution=size, palette="mono", background="black", softness=0.25)
    z = latents(1, seed=3)
    layout = model.layout(z, torch.tensor([CIRCLE]))
    coverage = model.generate(z, torch.tensor([CIRCLE]))[0, 0] / layout.colours[0, 0, 0]
    axis = (torch.arange(size) + 0.5) / size
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    distance = torch.hypot(xs - layout.centres[0, 0, 0], ys - layout.centres[0, 0, 1]) * size  # pixels
    radius = layout.radii[0, 0] * size
    assert torch.all(coverage[distance < radius - 1] > 0.99)
    assert torch.all(coverage[distance > radius + 1] < 0.01)


def test_classes_come_from_z_without_labels(spec):
    model = build(spec)
    z = latents(60, seed=4)
    classes = model.layout(z).classes
    assert set(classes.tolist()) == {0, 1, 2}
    assert torch.equal(model.generate(z), model.generate(z, classes))


def test_softness_widens_the_edge(spec):
    z = latents(4, seed=5)
    labels = torch.tensor([0, 1, 2, 1])

    def edge_pixels(softness: float) -> int:
        model = build(spec, palette="mono", background="black", softness=softness)
        coverage = model.generate(z, labels)[:, 0] / model.layout(z, labels).colours[:, 0, :1, None]  # N x R x R
        return int(((coverage > 0.01) & (coverage < 0.99)).sum())  # partly covered pixels

    assert edge_pixels(4.0) > 2 * edge_pixels(1.0) > 0


def test_shapes_per_image(spec):
    size = 128
    model = build(spec, resolution=size, palette="mono", background="black", shapes_per_image=5)
    z = latents(4, seed=6)
    circles = torch.zeros(4, dtype=torch.long)
    layout = model.layout(z, circles)
    assert layout.centres.shape == (4, 5, 2)
    ink = (model.generate(z, circles)[:, 0] > 0).sum(dim=(1, 2)).float()  # pixels touched by some circle
    radii = layout.radii * size  # N x 5, pixels
    assert torch.all(ink <= (math.pi * (radii + 1) ** 2).sum(dim=1))  # at most all five, edges included
    assert torch.all(ink >= math.pi * (radii.amax(dim=1) - 0.5) ** 2)  # at least the largest
    assert torch.all(ink > 1.5 * math.pi * (radii.amax(dim=1) + 0.5) ** 2)  # more than one is drawn


def test_bad_input_is_refused(spec):
    model = build(spec)
    with pytest.raises(ValueError, match="44"):
        model.generate(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="labels"):
        model.generate(latents(2), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="labels"):
        model.generate(latents(2), torch.tensor([0]))
