"""The style family's maths: Gram matrices, losses, AdaIN, colour spaces and the VGG19 feature extractor."""

from __future__ import annotations

import pytest
import torch
from genstudio_style.images import keep_content_color, rgb_to_yiq, yiq_to_rgb
from genstudio_style.losses import adain, gram_matrix, mean_std, mean_std_loss, style_loss, total_variation
from genstudio_style.vgg import LAYER_NAMES, imagenet_vgg_state, layer_index, load_vgg, parse_layers, random_vgg_state

from genstudio.errors import UserError


def test_gram_matrix_is_feature_correlation_over_chw():
    features = torch.randn(2, 3, 4, 5)
    expected = torch.stack([f.reshape(3, 20) @ f.reshape(3, 20).T for f in features]) / (3 * 4 * 5)
    gram = gram_matrix(features)
    assert gram.shape == (2, 3, 3)
    assert torch.allclose(gram, expected, atol=1e-6)
    assert torch.allclose(gram, gram.transpose(1, 2))  # symmetric


def test_gram_ignores_where_things_are():
    """Style is spatially invariant: permuting the pixels leaves the Gram matrix unchanged."""
    features = torch.randn(1, 4, 6, 6)
    shuffled = features.reshape(1, 4, 36)[:, :, torch.randperm(36)].reshape(1, 4, 6, 6)
    assert torch.allclose(gram_matrix(features), gram_matrix(shuffled), atol=1e-6)
    assert not torch.allclose(features, shuffled)


def test_style_loss_is_zero_at_the_target_weighted_and_scale_free():
    grams = {"a": gram_matrix(torch.randn(1, 3, 8, 8)), "b": gram_matrix(torch.randn(1, 5, 4, 4))}
    targets = {"a": gram_matrix(torch.randn(1, 3, 8, 8)), "b": grams["b"]}
    assert style_loss(targets, targets, {"a": 1.0, "b": 1.0}) == 0
    only_a = style_loss(grams, targets, {"a": 1.0, "b": 1.0})
    assert torch.allclose(style_loss(grams, targets, {"a": 3.0, "b": 1.0}), 3 * only_a)
    raw = torch.mean((grams["a"] - targets["a"]) ** 2)
    assert torch.allclose(style_loss(grams, targets, {"a": 1.0, "b": 1.0}, relative=False), raw)
    scaled = {name: 100 * gram for name, gram in grams.items()}  # features x 10: relative loss unchanged
    scaled_targets = {name: 100 * gram for name, gram in targets.items()}
    assert torch.allclose(style_loss(scaled, scaled_targets, {"a": 1.0, "b": 1.0}), only_a, rtol=1e-4)


def test_total_variation_is_zero_for_flat_images_and_grows_with_noise():
    assert total_variation(torch.full((1, 3, 8, 8), 0.3)) == 0
    smooth = torch.linspace(0, 1, 16).expand(1, 3, 16, 16)
    assert total_variation(torch.rand(1, 3, 16, 16)) > total_variation(smooth) > 0


def test_adain_output_has_the_styles_channel_means_and_stds():
    content = torch.randn(2, 8, 6, 7) * 3 + 1
    style = torch.randn(2, 8, 5, 5) * torch.rand(1, 8, 1, 1) * 4 - 2
    style_mean, style_std = mean_std(style)
    out = adain(content, style_mean, style_std)
    out_mean, out_std = mean_std(out)
    assert out.shape == content.shape
    assert torch.allclose(out_mean, style_mean, atol=1e-4)
    assert torch.allclose(out_std, style_std, atol=1e-3)
    # and it keeps the content's normalised layout: a per-channel affine map of the content
    normalised = (content - mean_std(content)[0]) / mean_std(content)[1]
    assert torch.allclose((out - style_mean) / style_std, normalised, atol=1e-4)


def test_mean_std_loss_is_zero_for_the_styles_own_features():
    features = {"relu1_1": torch.rand(1, 4, 8, 8), "relu2_1": torch.rand(1, 6, 4, 4)}
    targets = {name: mean_std(f) for name, f in features.items()}
    assert mean_std_loss(features, targets) < 1e-10
    doubled = {n: f * 2 for n, f in features.items()}
    assert mean_std_loss(doubled, targets) > 1e-3
    relative = mean_std_loss(doubled, targets, relative=True)  # scale-free: x10 features and targets, same value
    tenfold = {name: (mean * 10, std * 10) for name, (mean, std) in targets.items()}
    assert torch.allclose(mean_std_loss({n: f * 10 for n, f in doubled.items()}, tenfold, relative=True), relative,
                          rtol=1e-3)


def test_yiq_round_trip_and_keep_content_color_keeps_chroma():
    images = torch.rand(2, 3, 9, 11)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(images)), images, atol=1e-5)
    grey = torch.full((1, 3, 1, 1), 0.5).expand(1, 3, 8, 8)
    assert torch.allclose(rgb_to_yiq(grey)[:, 1:], torch.zeros(1, 2, 8, 8), atol=1e-5)  # grey has no chroma
    content = 0.25 + 0.5 * torch.rand(1, 3, 8, 8)  # mid-range: no clamping in the round trip
    stylized = 0.25 + 0.5 * torch.rand(1, 3, 8, 8)
    out = keep_content_color(stylized, content)
    assert torch.allclose(rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-4)
    assert torch.allclose(rgb_to_yiq(out)[:, :1], rgb_to_yiq(stylized)[:, :1], atol=1e-4)


def test_layer_names_follow_torchvisions_vgg19_indices():
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["E"])  # what torchvision's vgg19() holds as .features
    assert len(LAYER_NAMES) == len(features)
    for name, layer in zip(LAYER_NAMES, features, strict=True):
        kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}[name[:4]]
        assert isinstance(layer, kind), name
    assert layer_index("relu4_1") == 20 and layer_index("relu4_2") == 22  # the indices papers quote


def test_extractor_equals_torchvision_with_the_same_weights():
    from torchvision.models.vgg import cfgs, make_layers

    state = random_vgg_state(layer_index("relu3_1"))
    reference = make_layers(cfgs["E"])[: layer_index("relu3_1") + 1]
    reference.load_state_dict(state)
    x = torch.rand(1, 3, 20, 24)
    normalised = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    vgg = load_vgg("random", "relu3_1")
    ours = vgg(x, ["relu2_1", "relu3_1"])
    assert ours["relu3_1"].shape == (1, 256, 5, 6) and ours["relu2_1"].shape == (1, 128, 10, 12)
    assert torch.allclose(ours["relu3_1"], reference.eval()(normalised), atol=1e-5)


def test_random_features_are_seeded_frozen_and_outside_the_state_dict():
    before = torch.random.get_rng_state()
    a, b = load_vgg("random", "relu2_1"), load_vgg("random", "relu2_1")
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is untouched
    assert torch.equal(a.weight0, b.weight0) and a.weight0.abs().sum() > 0
    assert list(a.parameters()) == [] and a.state_dict() == {}
    assert a.reference["features"] == "random" and "lower-quality" in a.reference["note"]


def test_imagenet_state_reads_torchvision_checkpoints_without_code(tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    layers = make_layers(cfgs["E"])
    path = tmp_path / "vgg.pth"
    torch.save({f"features.{k}": v for k, v in layers.state_dict().items()} | {"classifier.0.bias": torch.zeros(2)},
               path)
    state = imagenet_vgg_state(str(path), layer_index("relu1_2"))
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert torch.equal(state["2.weight"], layers[2].weight)
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(UserError, match="do not fit"):
        imagenet_vgg_state(str(path), layer_index("relu1_2"))
    torch.save({"features.0.weight": UserError("x")}, path)  # a pickled object: weights_only refuses it
    with pytest.raises(UserError, match="unreadable"):
        imagenet_vgg_state(str(path), 0)


def test_parse_layers():
    assert parse_layers("relu1_1, relu2_1:0.5", "style_layers") == {"relu1_1": 1.0, "relu2_1": 0.5}
    with pytest.raises(UserError, match="unknown VGG19 layer 'relu9_1'"):
        parse_layers("relu9_1", "style_layers")
    with pytest.raises(UserError, match="must be a number"):
        parse_layers("relu1_1:x", "style_layers")
    with pytest.raises(UserError, match="at least one"):
        parse_layers(" , ", "content_layers")
