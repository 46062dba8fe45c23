"""fast-style and adain: 2 training steps through the runtime on generated images, reload, export, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from genstudio_style.api import load_stylizer
from genstudio_style.transformer import TransformerNet
from PIL import Image

from genstudio.data import ImageFolderDataset
from genstudio.errors import UserError
from genstudio.models import load_model
from genstudio.plugins import get_registry
from genstudio.training import fit

SHALLOW = {"features": "random", "resolution": 32}
FAST = {**SHALLOW, "size": "lite", "content_layers": "relu2_2", "style_layers": "relu1_2,relu2_2"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Four 40 x 40 noise-and-gradient content images and three style images."""
    root = tmp_path_factory.mktemp("style-data")
    rng = np.random.default_rng(0)
    for kind, count in (("content", 4), ("styles", 3)):
        (root / kind).mkdir()
        for index in range(count):
            ramp = np.linspace(0, 255, 40, dtype=np.float32)[None, :, None] * rng.random(3)
            noisy = ramp + rng.normal(0, 40 if kind == "styles" else 5, (40, 40, 3))
            Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(root / kind / f"{kind}{index}.png")
    return root


def train(backend: str, config: dict, folders, out) -> None:
    spec = get_registry().backend(backend)
    dataset = ImageFolderDataset(folders / "content", 32, 3, cache=False)
    summary = fit(spec, spec.schema.resolve(config), dataset, out, steps=2, batch_size=2, sample_count=4,
                  device="cpu")
    assert summary.steps == 2 and all(np.isfinite(v) for v in summary.final_losses.values())


def test_fast_style_trains_reloads_identically_and_runs_any_size(folders, tmp_path):
    out = tmp_path / "fast"
    train("fast-style", {**FAST, "style_image": str(folders / "styles" / "styles0.png")}, folders, out)
    assert (out / "samples.png").is_file()
    loaded = load_model(out)
    from safetensors.torch import load_file

    assert all(name.startswith("net.") for name in load_file(out / "weights.safetensors"))  # no VGG inside
    again = load_stylizer(out)
    content = torch.rand(3, 37, 29)  # odd sizes: fully convolutional
    first = loaded.module.stylize(content)
    assert first.shape == (3, 37, 29) and torch.equal(first, again.stylize(content))
    fresh = load_stylizer(loaded.module.__class__(loaded.card.config))  # untrained: the weights mattered
    assert not torch.equal(first, fresh.stylize(content))
    with pytest.raises(UserError, match="takes no style image"):
        loaded.module.stylize(content, torch.rand(3, 16, 16))
    blended = loaded.module.stylize(content, strength=0.0)
    assert torch.allclose(blended, content, atol=1e-6)


def test_fast_style_needs_its_style_image(folders, tmp_path):
    with pytest.raises(UserError, match="--style"):
        train("fast-style", FAST, folders, tmp_path / "nostyle")


@pytest.mark.parametrize("size", ["standard", "lite"])
def test_transformer_keeps_odd_sizes_and_lite_is_smaller(size):
    net = TransformerNet(size).eval()
    with torch.no_grad():
        assert net(torch.rand(2, 3, 33, 18)).shape == (2, 3, 33, 18)
    params = sum(p.numel() for p in net.parameters())
    assert (params < 200_000) if size == "lite" else (params > 1_000_000)


def test_adain_trains_and_interpolates_styles(folders, tmp_path):
    out = tmp_path / "adain"
    train("adain", {**SHALLOW, "decoder": "lite", "style_dir": str(folders / "styles")}, folders, out)
    model = load_model(out).module
    assert list(model.state_dict()) and all(k.startswith("decoder.") for k in model.state_dict())
    content, style_a, style_b = torch.rand(3, 35, 27), torch.rand(3, 24, 24), torch.rand(3, 24, 24) * 0.2
    single = model.stylize(content, style_a)
    assert single.shape == (3, 35, 27)
    assert torch.allclose(model.stylize(content, [style_a, style_b], style_weights=[1, 0]), single, atol=1e-5)
    with torch.no_grad():  # unclamped: a 2-step decoder's output is still nearly flat once clamped
        stats = [model.style_statistics(style[None]) for style in (style_a, style_b)]
        mixed = model.transfer(content[None], stats, [0.5, 0.5], 1.0)
        assert not torch.allclose(mixed, model.transfer(content[None], stats, [1.0, 0.0], 1.0), atol=1e-5)
    with torch.no_grad():  # alpha = 0: the decoder of the content's own features
        padded = torch.nn.functional.pad(content[None], (0, 5, 0, 5), mode="reflect")
        expected = model.decoder(model.encode(padded))[..., :35, :27].clamp(0, 1)[0]
    assert torch.allclose(model.stylize(content, style_a, strength=0.0), expected, atol=1e-5)
    with pytest.raises(UserError, match="style_weights"):
        model.stylize(content, [style_a, style_b], style_weights=[1])


def test_cli_trains_fast_style_and_records_the_feature_network(folders, tmp_path, run_cli):
    out = tmp_path / "cli-fast"
    result = run_cli("train", "fast-style", "--data", str(folders / "content"), "--out", str(out),
                     "--style", str(folders / "styles" / "styles1.png"), "--steps", "2", "-b", "2", "-r", "32",
                     "--set", "features=random", "--set", "size=lite", "--set", "style_layers=relu1_2",
                     "--set", "content_layers=relu1_2", "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr
    card = json.loads((out / "model.json").read_text())
    assert card["config"]["style_image"].endswith("styles1.png")
    assert card["extra"]["feature_network"]["features"] == "random"
    assert "lower-quality" in card["extra"]["feature_network"]["note"]
    assert len(card["extra"]["style_image"]["sha256"]) == 64


def test_cli_without_vgg_weights_exits_2_with_one_line(folders, tmp_path, run_cli):
    result = run_cli("train", "adain", "--data", str(folders / "content"), "--out", str(tmp_path / "a"),
                     "--styles", str(folders / "styles"), "--steps", "1", "-r", "32",
                     "--vgg-weights", str(tmp_path / "missing.pth"))
    assert result.returncode == 2
    assert "missing.pth" in result.stderr and "weights.vgg19" in result.stderr.replace("\n", "")
    wrong = run_cli("train", "dcgan", "--data", str(folders / "content"), "--out", str(tmp_path / "d"),
                    "--style", str(folders / "styles" / "styles0.png"), "--steps", "1")
    assert wrong.returncode == 2 and "--style" in wrong.stderr
