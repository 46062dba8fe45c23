"""The StyleGAN2 layers and networks on tiny sizes: modulation/demodulation as the paper writes it, truncation and
mixing on the right layers, the discriminator's pieces, ADA's p update and differentiability, and a conditional
model exported to ONNX running like PyTorch with labels, truncation and mixing."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from genstudio_stylegan2.augment import AdaptiveAugment
from genstudio_stylegan2.layers import MinibatchStdGroup, ModulatedConv2d, downsample2x, upsample2x
from genstudio_stylegan2.networks import StyleDiscriminator, StyleGenerator

TINY = dict(latent_dim=4, w_dim=4, channels=3, resolution=16, channel_base=64, channel_max=4, mapping_layers=2)


def test_modulated_conv_is_the_per_sample_modulated_and_demodulated_weight():
    """Karras et al. 2020a, eqs. 1 and 3, computed naively per sample, equals the layer's input/output scaling."""
    torch.manual_seed(0)
    layer = ModulatedConv2d(5, 6, 3, w_dim=4)
    x, w = torch.randn(3, 5, 8, 8), torch.randn(3, 4)
    styles = layer.affine(w)
    expected = []
    for i in range(3):
        weight = layer.weight * layer.weight_gain * styles[i][None, :, None, None]  # w'_ijk = s_i w_ijk
        weight = weight / (weight.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()  # w''
        expected.append(F.conv2d(x[i:i + 1], weight, padding=1))
    assert torch.allclose(layer(x, w), torch.cat(expected), atol=1e-5)
    with torch.no_grad():
        out = layer(torch.randn(64, 5, 8, 8), torch.randn(64, 4))
    assert abs(float(out.std()) - 1.0) < 0.15  # demodulation keeps unit variance


def test_resampling_and_minibatch_std():
    x = torch.randn(2, 3, 8, 8)
    assert downsample2x(x).shape == (2, 3, 4, 4) and upsample2x(x).shape == (2, 3, 16, 16)
    assert torch.allclose(downsample2x(torch.ones(1, 2, 8, 8))[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2))
    out = MinibatchStdGroup(4)(torch.randn(6, 3, 4, 4))  # 6 is not a multiple of 4: groups of 3, strided
    assert out.shape == (6, 4, 4, 4)
    assert torch.equal(out[0, 3], out[2, 3]) and torch.equal(out[0, 3], out[4, 3])  # images 0, 2, 4: one group
    assert not torch.equal(out[0, 3], out[1, 3])
    same = MinibatchStdGroup(4)(torch.ones(4, 2, 4, 4))
    assert torch.allclose(same[:, 2], torch.full((4, 4, 4), 1e-4), atol=1e-4)  # no spread: std ~ 0


def test_truncation_and_mixing_act_on_the_right_layers():
    torch.manual_seed(0)
    g = StyleGenerator(**TINY).eval()
    g.mapping.w_avg.normal_()
    z, other = torch.randn(2, 4), torch.randn(2, 4)
    ws = g.map(z)
    n = g.num_ws
    assert n == 6 and ws.shape == (2, 6, 4)
    full = g.truncate_styles(ws, torch.zeros(2), torch.full((2,), n))
    assert torch.allclose(full, g.mapping.w_avg.expand(2, n, 4))  # psi 0: the mean style everywhere
    cut = g.truncate_styles(ws, torch.zeros(2), torch.full((2,), 2))
    assert torch.allclose(cut[:, :2], full[:, :2]) and torch.equal(cut[:, 2:], ws[:, 2:])
    half = g.truncate_styles(ws, torch.full((2,), 0.5), torch.full((2,), n))
    assert torch.allclose(half, (ws + g.mapping.w_avg) / 2, atol=1e-6)
    mixed = g.mix_styles(ws, g.map(other), torch.tensor([1, 4]))
    assert torch.equal(mixed[0, :1], ws[0, :1]) and torch.equal(mixed[0, 1:], g.map(other)[0, 1:])
    assert torch.equal(mixed[1, :4], ws[1, :4]) and torch.equal(mixed[1, 4:], g.map(other)[1, 4:])
    with torch.no_grad():
        assert torch.allclose(g.generate_styles(z, truncation=0.5), g.generate(g.truncate(z, 0.5)), atol=1e-6)
        assert torch.equal(g.generate_styles(z), g.generate(z))
        with pytest.raises(ValueError, match="mix_from"):
            g.generate_styles(z, mix_z=other, mix_from=n)


def test_discriminator_shapes_and_projection():
    d = StyleDiscriminator(3, 16, 64, 4, num_classes=3)
    out = d(torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 0]))
    assert out.shape == (4,)
    assert StyleDiscriminator(1, 8, 32, 4)(torch.randn(5, 1, 8, 8)).shape == (5,)


def test_ada_moves_p_by_the_heuristic_and_is_differentiable():
    ada = AdaptiveAugment("ada", 0.0, target=0.6, speed_images=100)
    ada.observe(torch.ones(8))  # r_t = 1 > 0.6: D overfits, p rises by 16 / 100
    assert ada.adjust(16) == 1.0 and float(ada.p) == pytest.approx(0.16)
    ada.observe(-torch.ones(8))  # r_t = -1 < 0.6: p falls, never below 0
    ada.adjust(32)
    assert float(ada.p) == 0.0 and float(ada.sign_count) == 0
    fixed = AdaptiveAugment("fixed", 0.5, 0.6, 100)
    fixed.observe(torch.ones(4))
    assert fixed.adjust(4) is None and float(fixed.p) == 0.5  # a fixed p never moves
    assert AdaptiveAugment("off", 0.5, 0.6, 100)(x := torch.randn(2, 3, 8, 8)) is x
    torch.manual_seed(1)
    x = torch.randn(16, 3, 16, 16, requires_grad=True)
    out = AdaptiveAugment("fixed", 0.9, 0.6, 100)(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    out.square().sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0  # G is trained through the augmentation


def test_conditional_model_exports_and_runs_like_torch(tmp_path, use_plugins):
    """The main ONNX graph takes labels, psi, truncation_cutoff, mix_z, mix_from and the noise, and gives the
    images PyTorch gives for them (parity <= 1e-4)."""
    import genstudio_stylegan2

    from genstudio.export import export_model
    from genstudio.models import save_model
    from genstudio.onnx_runtime import OnnxStyleGenerator, onnx_twin, open_session, read_twin

    registry = use_plugins(stylegan2=genstudio_stylegan2)
    spec = registry.backend("stylegan2")
    config = spec.schema.resolve({"resolution": 8, "channels": 1, "latent_dim": 4, "w_dim": 4, "channel_base": 32,
                                  "channel_max": 4, "mapping_layers": 2, "conditional": True, "num_classes": 3})
    torch.manual_seed(0)
    module = spec.load().build(config)
    with torch.no_grad():
        module.mapping.w_avg.normal_()
        for layer in module.synthesis.noise_layers:
            layer.noise_strength.fill_(0.3)
    save_model(tmp_path / "m", spec, config, module.state_dict())
    record = export_model(tmp_path / "m")
    assert record["graphs"]["model"]["inputs"][:3] == ["z", "labels", "psi"]
    assert max(error for graph in record["graphs"].values() for error in graph["max_abs_error"].values()) <= 1e-4
    from genstudio.models import read_card

    # the twin as a later run builds it: from what export recorded (its fixed noise read back), no module
    meta = read_twin(tmp_path / "m", read_card(tmp_path / "m"))
    assert set(meta["noise"]) == {f"noise{i}" for i in range(len(module.synthesis.noise_layers))}
    twin = onnx_twin(open_session(tmp_path / "m" / "model.onnx", "cpu"), spec, meta, styled=True)
    assert isinstance(twin, OnnxStyleGenerator) and twin.num_ws == module.num_ws
    z, other, labels = torch.randn(5, 4), torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    module.eval()
    with torch.no_grad():
        for options in ({}, {"truncation": 0.3, "truncation_cutoff": 2}, {"mix_z": other, "mix_from": 3},
                        {"truncation": torch.linspace(0, 1, 5), "mix_z": other, "mix_from": 1}):
            expected = module.generate_styles(z, labels, **options)
            got = torch.from_numpy(twin.generate_styles(z, labels, **options))
            assert torch.allclose(got, expected, atol=1e-4), options
        assert not torch.allclose(module.generate(z, labels), module.generate(z, torch.tensor([2, 2, 2, 2, 2])))
    assert math.isfinite(float(twin.generate(z).sum()))
