"""The latent API: per-index latents, slerp, truncation and label resolution."""

from __future__ import annotations

import pytest
import torch

from genstudio import generation
from genstudio.errors import UserError


def test_latent_depends_on_seed_and_index_only():
    a = generation.latent(7, 3, 32)
    assert torch.equal(a, generation.latent(7, 3, 32))
    assert not torch.equal(a, generation.latent(7, 4, 32))
    assert not torch.equal(a, generation.latent(8, 3, 32))
    batch = generation.latents(7, [5, 3, 9], 32)
    assert torch.equal(batch[1], a)
    assert batch.shape == (3, 32)


def test_latents_look_standard_normal():
    z = generation.latents(0, range(400), 64)
    assert abs(z.mean().item()) < 0.02
    assert abs(z.std().item() - 1.0) < 0.02


def test_negative_seed_is_a_user_error():
    with pytest.raises(UserError, match="seeds and indices"):
        generation.latent(-1, 0, 4)


def test_slerp_ends_and_norm():
    a, b = generation.latent(1, 0, 128), generation.latent(2, 0, 128)
    assert torch.allclose(generation.slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(generation.slerp(a, b, 1.0), b, atol=1e-5)
    middle = generation.slerp(a, b, 0.5)
    straight = (a + b) / 2
    # two nearly orthogonal Gaussian vectors: the chord's midpoint is ~0.71 of their norm, slerp's is not
    assert middle.norm() > 0.95 * min(a.norm(), b.norm())
    assert straight.norm() < 0.8 * min(a.norm(), b.norm())
    # between unit vectors, the midpoint is a unit vector at equal angles from both
    cos = torch.nn.functional.cosine_similarity
    a_unit, b_unit = a / a.norm(), b / b.norm()
    middle_unit = generation.slerp(a_unit, b_unit, 0.5)
    assert torch.isclose(middle_unit.norm(), torch.tensor(1.0), atol=1e-5)
    assert torch.isclose(cos(middle_unit, a_unit, dim=0), cos(middle_unit, b_unit, dim=0), atol=1e-5)


def test_slerp_of_parallel_vectors_is_linear():
    a = torch.ones(8)
    assert torch.allclose(generation.slerp(a, 2 * a, 0.5), 1.5 * a)


def test_interpolate_seeds_endpoints():
    path = generation.interpolate_seeds(3, 4, 5, 16)
    assert path.shape == (5, 16)
    assert torch.allclose(path[0], generation.latent(3, 0, 16), atol=1e-5)
    assert torch.allclose(path[-1], generation.latent(4, 0, 16), atol=1e-5)
    with pytest.raises(UserError, match="at least 2"):
        generation.interpolate_seeds(3, 4, 1, 16)


class _Gaussian(torch.nn.Module):
    latent_dim = 4


class _Mapped(torch.nn.Module):
    latent_dim = 4

    def truncate(self, z, psi):
        return z * 0 + psi


def test_truncation_toward_the_mean():
    z = torch.randn(3, 4)
    assert torch.equal(generation.truncate(_Gaussian(), z, 1.0), z)
    assert torch.equal(generation.truncate(_Gaussian(), z, 0.0), torch.zeros_like(z))
    assert torch.allclose(generation.truncate(_Gaussian(), z, 0.5), z / 2)
    assert torch.equal(generation.truncate(_Mapped(), z, 0.25, "own"), torch.full_like(z, 0.25))
    with pytest.raises(UserError, match="between 0 and 1"):
        generation.truncate(_Gaussian(), z, 1.5)


def test_resolve_label():
    names = ["cat", "dog", "fish"]
    assert generation.resolve_label(None, 3, names) is None
    assert generation.resolve_label("dog", 3, names) == 1
    assert generation.resolve_label("2", 3, names) == 2
    with pytest.raises(UserError, match="out of range"):
        generation.resolve_label("3", 3, names)
    with pytest.raises(UserError, match="unknown label 'cow'.*cat, dog, fish"):
        generation.resolve_label("cow", 3, names)
    with pytest.raises(UserError, match="not conditional"):
        generation.resolve_label("1", 0, [])
    assert [generation.label_for(i, None, 3) for i in range(5)] == [0, 1, 2, 0, 1]
    assert generation.label_for(4, 2, 3) == 2
    assert generation.label_for(4, None, 0) is None
