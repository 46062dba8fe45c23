"""The growth schedule and the growing networks on tiny configs: every stage transition (4 -> 8 -> 16) fades in
continuously from the previous stage, and a model generates at its full size at any stage."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from genstudio_progan.networks import EqualizedConv2d, ProDiscriminator, ProGenerator, pixel_norm
from genstudio_progan.schedule import Schedule, parse_stage_batch, stage_count
from genstudio_progan.train import real_at

from genstudio.errors import UserError


def test_stage_count_and_bad_resolutions():
    assert [stage_count(r) for r in (8, 16, 32, 256)] == [2, 3, 4, 7]
    for bad in (4, 24, 48):
        with pytest.raises(UserError, match="power of two"):
            stage_count(bad)


def test_schedule_positions_over_every_stage():
    # 16 px: stages 4, 8, 16; 40 images per stage at batch 8 -> 5 steps each, fades of round(0.6 * 5) = 3 steps
    schedule = Schedule(16, 40, 0.6, (), 8)
    assert (schedule.steps, schedule.fades, schedule.starts) == ((5, 5, 5), (0, 3, 3), (0, 5, 10))
    seen = [(p.stage, round(p.alpha, 4), p.resolution) for p in map(schedule.at, range(17))]
    third = round(1 / 3, 4)
    assert seen == [(0, 1.0, 4)] * 5 + [(1, 0.0, 8), (1, third, 8), (1, round(2 / 3, 4), 8), (1, 1.0, 8), (1, 1.0, 8)] \
        + [(2, 0.0, 16), (2, third, 16), (2, round(2 / 3, 4), 16), (2, 1.0, 16), (2, 1.0, 16)] + [(2, 1.0, 16)] * 2


def test_schedule_batch_per_stage_counts_images_not_steps():
    schedule = Schedule(32, 64, 0.5, parse_stage_batch("16, 8"), 12)  # 16 is capped at the run's 12; 8 repeats
    assert schedule.batches == (12, 8, 8, 8)
    assert schedule.steps == (math.ceil(64 / 12), 8, 8, 8)
    assert schedule.at(schedule.starts[1]).batch == 8
    assert Schedule(32, 64, 0.0, (), 8).fades == (0, 0, 0, 0)  # no fade: a new stage starts at alpha 1
    for bad in ("a,b", "8,0"):
        with pytest.raises(UserError, match="stage_batch"):
            parse_stage_batch(bad)


def test_equalized_learning_rate_and_pixel_norm():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3, 1)
    assert abs(float(conv.weight.detach().std()) - 1.0) < 0.05  # N(0, 1) parameters, scaled at run time
    x = torch.randn(16, 64, 8, 8)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * math.sqrt(2 / (64 * 9)), conv.bias, padding=1))
    normed = pixel_norm(torch.randn(4, 16, 5, 5) * 7)
    assert torch.allclose(normed.pow(2).mean(dim=1), torch.ones(4, 5, 5), atol=1e-4)


@pytest.mark.parametrize("stage", [1, 2])
def test_a_fade_in_starts_where_the_previous_stage_ended(stage):
    """At alpha 0 the new stage's output is the previous stage's, upsampled (G) or pooled (D); at alpha 1 it is
    the new layers alone, so growing never jumps."""
    torch.manual_seed(stage)
    g, d = ProGenerator(8, 1, 16, 8), ProDiscriminator(1, 16, 8)
    z = torch.randn(5, 8)
    x = torch.rand(5, 1, 4 * 2**stage, 4 * 2**stage) * 2 - 1
    for net in (g, d):
        net.set_growth(stage - 1, 1.0)
    before_g, before_d = g.synthesize(z), d(F.avg_pool2d(x, 2))
    for net in (g, d):
        net.set_growth(stage, 0.0)
    assert g.synthesize(z).shape[-1] == 4 * 2**stage
    assert torch.allclose(g.synthesize(z), F.interpolate(before_g, scale_factor=2, mode="nearest"), atol=1e-5)
    assert torch.allclose(d(x), before_d, atol=1e-5)
    for net in (g, d):
        net.set_growth(stage, 0.5)
    halfway = g.synthesize(z)
    for net in (g, d):
        net.set_growth(stage, 1.0)
    new = g.synthesize(z)
    assert not torch.allclose(new, F.interpolate(before_g, scale_factor=2, mode="nearest"), atol=1e-3)
    assert torch.allclose(halfway, (new + F.interpolate(before_g, scale_factor=2, mode="nearest")) / 2, atol=1e-5)


@torch.no_grad()
def test_generate_is_full_size_at_every_stage_and_growth_is_saved():
    g = ProGenerator(8, 3, 16, 8)
    assert (int(g.stage), float(g.alpha)) == (2, 1.0)  # built fully grown
    z = torch.randn(2, 8)
    for stage in range(3):
        g.set_growth(stage, 1.0)
        images = g.generate(z)
        assert images.shape == (2, 3, 16, 16) and 0 <= float(images.min()) <= float(images.max()) <= 1
    g.set_growth(1, 0.25)
    copy = ProGenerator(8, 3, 16, 8)
    copy.load_state_dict(g.state_dict())
    assert copy.growth() == (1, 0.25) and torch.equal(copy.generate(z), g.generate(z))
    with pytest.raises(ValueError):
        g.set_growth(3, 1.0)


def test_real_images_follow_the_stage():
    images = torch.rand(3, 1, 16, 16) * 2 - 1
    schedule = Schedule(16, 16, 0.5, (), 4)  # 4 steps per stage, fades of 2
    assert real_at(images, schedule.at(0)).shape[-1] == 4
    at_fade_start = real_at(images, schedule.at(4))  # stage 1, alpha 0: the 4 px image, upsampled to 8
    assert torch.allclose(at_fade_start, F.interpolate(F.adaptive_avg_pool2d(images, 4), scale_factor=2), atol=1e-6)
    assert torch.equal(real_at(images, schedule.at(11)), images)  # last stage, stabilised: as they are
