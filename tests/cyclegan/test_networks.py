"""The pieces of CycleGAN against the paper: sizes, the 70 x 70 patch, the learning-rate schedule, the history
buffer, the generator layouts."""

from __future__ import annotations

import pytest
import torch
from genstudio_cyclegan.backend import CycleGANBackend, generator_shape
from genstudio_cyclegan.networks import PatchDiscriminator, ResnetGenerator, min_crop
from genstudio_cyclegan.train import TrainingState, crop_size, learning_rate, random_crop

from genstudio.errors import UserError


@pytest.mark.parametrize("size", [(13, 22), (8, 8), (5, 3), (31, 17)])
def test_generator_keeps_any_size(size, single_torch_thread):
    generator = ResnetGenerator(ngf=4, blocks=1)
    x = torch.rand(2, 3, *size) * 2 - 1
    out = generator(x)
    assert out.shape == x.shape and out.abs().max() <= 1


def test_patch_discriminator_sees_70_by_70(single_torch_thread):
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(ndf=2)
    for index, layer in enumerate(discriminator.model):  # instance norm's statistics see the whole image
        if isinstance(layer, torch.nn.InstanceNorm2d):
            discriminator.model[index] = torch.nn.Identity()
    x = torch.rand(1, 3, 128, 128, requires_grad=True)
    logits = discriminator(x)
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    rows = (x.grad.abs().sum(dim=(0, 1, 3)) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == 70


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_the_smallest_crop_each_discriminator_trains_on(layers, single_torch_thread):
    discriminator = PatchDiscriminator(ndf=2, layers=layers)
    assert discriminator(torch.rand(2, 3, min_crop(layers), min_crop(layers))).shape[0] == 2
    with pytest.raises(ValueError):
        discriminator(torch.rand(2, 3, min_crop(layers) - 1, min_crop(layers) - 1))


def test_a_crop_too_small_for_the_discriminator_is_a_user_error():
    from genstudio_cyclegan import CYCLEGAN_SCHEMA

    data = type("Data", (), {"channels": 6, "resolution": 16})()
    config = CYCLEGAN_SCHEMA.resolve({"resolution": 16, "ngf": 2, "ndf": 2, "crop": 16})
    with pytest.raises(UserError, match="too small for d_layers=3 .* 24 px"):
        CycleGANBackend.create_training(config, data, torch.device("cpu"))
    CycleGANBackend.create_training({**config, "d_layers": 2}, data, torch.device("cpu"))


def test_generator_layouts_follow_the_paper():
    base = {"resolution": 256, "ngf": 64, "blocks": 0, "generator": "resnet"}
    assert generator_shape(base) == (64, 9, False)
    assert generator_shape({**base, "resolution": 128}) == (64, 6, False)
    assert generator_shape({**base, "generator": "lite"}) == (32, 9, True)
    full, lite = (sum(p.numel() for p in ResnetGenerator(*generator_shape({**base, "generator": kind})).parameters())
                  for kind in ("resnet", "lite"))
    assert lite < full / 10
    assert crop_size({"resolution": 286, "crop": 0}) == 256 and crop_size({"resolution": 16, "crop": 40}) == 16


def test_learning_rate_is_constant_then_linear_to_zero():
    config = {"lr": 2e-4, "lr_constant": 100, "lr_decay": 100}
    assert learning_rate(config, 0) == learning_rate(config, 100) == 2e-4
    assert learning_rate(config, 150) == pytest.approx(1e-4)
    assert learning_rate(config, 200) == 0 and learning_rate(config, 500) == 0


def test_history_buffer_fills_then_mixes_old_and_new():
    torch.manual_seed(0)
    state = TrainingState(pool_size=4, crop=8, resolution=8)
    first = torch.rand(4, 3, 8, 8)
    assert torch.equal(state.query("a", first), first)  # filling: the new images come back
    assert torch.equal(state.pool_a, first) and int(state.pool_count[0]) == 4
    later = torch.rand(16, 3, 8, 8)
    out = state.query("a", later)
    from_pool = sum(any(torch.equal(image, old) for old in first) for image in out)
    assert 0 < from_pool < 16 and out.shape == later.shape


def test_random_crop_stays_inside_and_varies():
    torch.manual_seed(0)
    images = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16).repeat(8, 1, 1, 1)
    crops = random_crop(images, 12)
    assert crops.shape == (16, 3, 12, 12)
    assert len({tuple(crop[0, 0, :2].tolist()) for crop in crops}) > 1
