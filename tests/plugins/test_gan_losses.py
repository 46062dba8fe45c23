"""The GAN plugin's losses, penalties and differentiable augmentations, on hand-checkable inputs."""

from __future__ import annotations

import math

import pytest
import torch
from genstudio_gan import diffaugment
from genstudio_gan.losses import discriminator_loss, generator_loss, gradient_penalty, r1_penalty

REAL = torch.tensor([2.0, 0.5, -1.0])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def mean(values) -> float:
    return sum(values) / len(values)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_nonsaturating():
    expected_d = mean([-math.log(1 / (1 + math.exp(-r))) for r in REAL.tolist()]) + mean(
        [-math.log(1 - 1 / (1 + math.exp(-f))) for f in FAKE.tolist()])  # -log D(x) - log(1 - D(G(z)))
    assert float(discriminator_loss("nonsaturating", REAL, FAKE)) == pytest.approx(expected_d, rel=1e-6)
    assert float(generator_loss("nonsaturating", FAKE)) == pytest.approx(mean([softplus(-f) for f in FAKE.tolist()]))
    assert float(discriminator_loss("nonsaturating", torch.zeros(2), torch.zeros(2))) == pytest.approx(2 * math.log(2))


def test_lsgan():
    # 1/2 mean((r - 1)^2) + 1/2 mean(f^2) = 1/2 * (1 + 0.25 + 4) / 3 + 1/2 * (9 + 0 + 2.25) / 3
    assert float(discriminator_loss("lsgan", REAL, FAKE)) == pytest.approx(5.25 / 6 + 11.25 / 6)
    assert float(generator_loss("lsgan", FAKE)) == pytest.approx(0.5 * (16 + 1 + 0.25) / 3)  # 1/2 mean((f - 1)^2)


def test_hinge():
    # mean(relu(1 - r)) = (0 + 0.5 + 2) / 3; mean(relu(1 + f)) = (0 + 1 + 2.5) / 3
    assert float(discriminator_loss("hinge", REAL, FAKE)) == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert float(generator_loss("hinge", FAKE)) == pytest.approx(1.5 / 3)  # -mean(f)


def test_wasserstein():
    assert float(discriminator_loss("wgan-gp", REAL, FAKE)) == pytest.approx(-1.5 / 3 - 1.5 / 3)  # mean(f) - mean(r)
    assert float(generator_loss("wgan-gp", FAKE)) == pytest.approx(1.5 / 3)


def test_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss"):
        discriminator_loss("minimax", REAL, FAKE)
    with pytest.raises(ValueError, match="unknown loss"):
        generator_loss("minimax", FAKE)


def linear_critic(weight: torch.Tensor):
    """critic(x) = <w, x> per image: its input gradient is w everywhere."""
    return lambda x: (x.flatten(1) * weight.flatten()).sum(dim=1)


def test_gradient_penalty_of_a_linear_critic():
    weight = torch.zeros(1, 2, 2)
    weight[0, 0, 0], weight[0, 1, 1] = 3.0, 4.0  # ||w|| = 5
    weight.requires_grad_(True)
    real, fake = torch.rand(6, 1, 2, 2), torch.rand(6, 1, 2, 2)
    gp = gradient_penalty(linear_critic(weight), real, fake)
    assert float(gp.detach()) == pytest.approx((5 - 1) ** 2)
    gp.backward()  # the penalty is differentiable in the critic's weights: d (||w|| - 1)^2 / dw = 2 (1 - 1/||w||) w
    assert torch.allclose(weight.grad, 2 * (5 - 1) / 5 * weight.detach())


def test_r1_of_a_linear_critic():
    weight = torch.tensor([1.0, -2.0, 2.0], requires_grad=True)  # ||w||^2 = 9
    r1 = r1_penalty(linear_critic(weight), torch.randn(5, 3), gamma=10.0)
    assert float(r1.detach()) == pytest.approx(10.0 / 2 * 9)
    r1.backward()
    assert torch.allclose(weight.grad, 10.0 * weight.detach())  # d (gamma/2 ||w||^2) / dw = gamma w


# -- DiffAugment ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_augment_keeps_shape_and_is_differentiable(policy):
    x = (torch.rand(4, 3, 32, 32) * 2 - 1).requires_grad_(True)
    out = diffaugment.diff_augment(x, policy, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not torch.equal(out, x)


def test_none_is_identity():
    x = torch.rand(2, 1, 8, 8)
    assert diffaugment.diff_augment(x, "none") is x
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        diffaugment.parse_policy("color,flip")


def test_translation_shifts_by_whole_pixels():
    x = torch.zeros(64, 1, 32, 32)
    x[:, :, 16, 16] = 1.0
    out = diffaugment.translation(x, torch.Generator().manual_seed(1))
    assert torch.equal(out.flatten(1).sum(1), torch.ones(64))  # the dot moved, whole, nowhere near the border
    where = out[:, 0].flatten(1).argmax(dim=1)
    dy, dx = where // 32 - 16, where % 32 - 16
    assert dy.abs().max() <= 4 and dx.abs().max() <= 4  # at most 1/8 of 32
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) > 10  # and differently for each image


def test_cutout_zeroes_one_square():
    x = torch.ones(32, 2, 16, 16)
    out = diffaugment.cutout(x, torch.Generator().manual_seed(2))
    assert torch.equal(out[:, 0], out[:, 1])  # the same square in every channel
    for image in out[:, 0]:
        holes = (image == 0).nonzero()
        assert 0 < len(holes) <= 64  # at most 8 x 8, cut by the border
        rows, cols = holes[:, 0], holes[:, 1]
        height, width = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert height * width == len(holes) and height <= 8 and width <= 8  # one filled rectangle


def test_color_moves_brightness_and_keeps_grey_grey():
    x = torch.full((16, 1, 4, 4), 0.25)
    out = diffaugment.color(x, torch.Generator().manual_seed(3))
    per_image = out.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image))  # a flat image stays flat
    assert per_image[:, 0].std() > 0.1  # with a random brightness per image
