"""The style backends: registration, gatys end to end, the Python API, colour preservation and missing weights."""

from __future__ import annotations

import pytest
import torch
from genstudio_style import stylize
from genstudio_style.api import load_stylizer
from genstudio_style.images import rgb_to_yiq
from genstudio_style.losses import gram_matrix, style_loss
from PIL import Image

from genstudio.backends import BackendKind, StylizerModel
from genstudio.errors import Cancelled, UserError
from genstudio.events import EventCollector
from genstudio.plugins import get_registry

TINY_GATYS = {"features": "random", "content_layers": "relu2_1", "style_layers": "relu1_1,relu2_1", "steps": 4}


def stripes(height: int, width: int) -> torch.Tensor:
    """A red/blue striped style image, 3 x H x W."""
    image = torch.zeros(3, height, width)
    image[0, :, ::4] = image[0, :, 1::4] = 1.0
    image[2, :, 2::4] = image[2, :, 3::4] = 1.0
    return image


def photo(height: int = 24, width: int = 32) -> torch.Tensor:
    """A smooth greenish gradient with a bright square: a stand-in content image, 3 x H x W."""
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    image = torch.stack([0.3 + 0.2 * x, 0.5 + 0.3 * y, 0.3 * torch.ones_like(x)])
    image[:, height // 3: 2 * height // 3, width // 3: 2 * width // 3] += 0.15
    return image.clamp(0, 1)


def test_three_stylizers_are_registered_with_honest_capabilities():
    registry = get_registry()
    specs = {spec_id: registry.backend(spec_id) for spec_id in ("gatys", "fast-style", "adain")}
    assert all(spec.kind == BackendKind.STYLIZER for spec in specs.values())
    assert not specs["gatys"].capabilities.trainable and specs["fast-style"].capabilities.trainable
    assert specs["adain"].capabilities.trainable and specs["adain"].capabilities.needs_style_image
    assert specs["adain"].capabilities.exportable and specs["fast-style"].capabilities.exportable
    assert not specs["gatys"].capabilities.exportable
    assert not specs["fast-style"].capabilities.needs_style_image
    for spec in specs.values():
        (weights,) = spec.capabilities.pretrained_weights
        assert (weights.filename, weights.setting) == ("vgg19-dcbb9e9d.pth", "weights.vgg19")
        assert spec.schema.field("features").choices == ("imagenet", "random")


def test_gatys_runs_without_a_model_folder_and_lowers_the_style_loss():
    stylizer = load_stylizer("gatys", config=TINY_GATYS)
    assert isinstance(stylizer, StylizerModel) and list(stylizer.parameters()) == []
    assert stylizer.state_dict() == {}  # the VGG lives in non-persistent buffers
    content, style = photo(), stripes(32, 32)
    out = stylizer.stylize(content, style, steps=8)
    assert out.shape == content.shape and out.min() >= 0 and out.max() <= 1

    vgg = stylizer.vgg
    layers = {"relu1_1": 1.0, "relu2_1": 1.0}
    target = {name: gram_matrix(f) for name, f in vgg(style[None], list(layers)).items()}

    def loss(image):
        return style_loss({n: gram_matrix(f) for n, f in vgg(image[None], list(layers)).items()}, target, layers)

    assert loss(out) < 0.5 * loss(content)


def test_gatys_types_progress_abort_scales_and_noise_start():
    content = Image.fromarray((photo(21, 27).permute(1, 2, 0).numpy() * 255).astype("uint8"))
    events = EventCollector()
    config = {**TINY_GATYS, "scales": 2, "init": "noise", "optimizer": "adam", "steps": 4}
    out = stylize("gatys", content, stripes(16, 16), config=config, progress=events)
    assert isinstance(out, Image.Image) and out.size == (27, 21)  # PIL in, PIL out, odd size kept
    progress = events.of_kind("progress")
    assert len(progress) == 6 and progress[-1].done == progress[-1].total == 6  # 4 coarse steps, then 2 fine
    assert progress[0].stats["size"] == "16x16" and progress[-1].stats["size"] == "27x21"
    events = EventCollector()
    with pytest.raises(Cancelled):
        stylize("gatys", photo(), stripes(16, 16), config=TINY_GATYS, progress=events, abort=lambda: True)
    assert events.of_kind("progress") == [] and events.of_kind("end")[0].message == "cancelled"
    with pytest.raises(UserError, match="needs a style image"):
        stylize("gatys", photo(), config=TINY_GATYS)


def test_gatys_max_size_and_strength_zero_keeps_the_content():
    stylizer = load_stylizer("gatys", config={**TINY_GATYS, "tv_weight": 0.0})
    out = stylizer.stylize(photo(40, 60), stripes(16, 16), max_size=30, strength=0.0, steps=3)
    assert out.shape == (3, 20, 30)
    small = torch.nn.functional.interpolate(photo(40, 60)[None], size=(20, 30), mode="bilinear", antialias=True)[0]
    assert (out - small).abs().max() < 0.02  # content loss only, started from the content: nothing moves


def test_preserve_color_keeps_the_contents_chroma():
    content, style = photo(), stripes(32, 32)
    stylizer = load_stylizer("gatys", config=TINY_GATYS)
    chroma = rgb_to_yiq(content[None])[:, 1:]

    def chroma_error(image):
        return (rgb_to_yiq(image[None])[:, 1:] - chroma).abs().mean()

    kept = stylizer.stylize(content, style, preserve_color=True)
    free = stylizer.stylize(content, style, preserve_color=False)
    assert chroma_error(kept) < 0.01 < chroma_error(free)
    assert (rgb_to_yiq(kept[None])[:, 0] - rgb_to_yiq(content[None])[:, 0]).abs().mean() > 0.005  # Y changed


def test_missing_vgg_weights_are_a_one_line_error_with_file_location_and_setting(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(UserError) as info:
        load_stylizer("gatys")  # features=imagenet is the default: never silently random
    message = str(info.value)
    assert "\n" not in message and "vgg19-dcbb9e9d.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message and "weights.vgg19" in message
    assert "features=random" in message


def test_a_wrong_vgg_file_fails_the_hash_check(monkeypatch, tmp_path):
    fake = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, fake)
    with pytest.raises(UserError, match="fail the hash check"):
        load_stylizer("gatys", config={"vgg_weights": str(fake)})


def test_bad_inputs_are_user_errors():
    with pytest.raises(UserError, match="at least 8 x 8"):
        stylize("gatys", torch.rand(3, 4, 4), stripes(16, 16), config=TINY_GATYS)
    with pytest.raises(UserError, match="one image"):
        stylize("gatys", torch.rand(2, 3, 16, 16), stripes(16, 16), config=TINY_GATYS)
    with pytest.raises(UserError, match="needs a trained model folder"):
        stylize("fast-style", photo())
    with pytest.raises(UserError, match="not a stylizer"):
        stylize("dcgan", photo())
