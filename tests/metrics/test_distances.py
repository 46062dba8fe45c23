"""FID, KID and precision/recall on feature matrices with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from genstudio.errors import UserError
from genstudio.metrics.distances import fid, frechet_distance, kid, mean_cov, precision_recall


def _gaussian(n: int, mean: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


def _closed_form(mu1, s1, mu2, s2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) with scipy's general matrix square root."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# -- FID -------------------------------------------------------------------------------------------------------


def test_fid_of_a_set_with_itself_is_zero():
    x = torch.randn(400, 32, dtype=torch.float64) * 5 + 3
    scale = float(torch.trace(mean_cov(x)[1]))
    assert abs(fid(x, x)) < 1e-6 * scale


def test_fid_of_a_set_with_itself_is_zero_with_singular_covariance():
    x = torch.randn(50, 128)  # D > N: rank-deficient covariance, where sqrtm-based code struggles
    assert abs(fid(x, x)) < 1e-6 * float(torch.trace(mean_cov(x)[1]))


def test_fid_matches_closed_form_of_the_samples_own_statistics():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 8))
    real = _gaussian(600, rng.normal(size=8), a @ a.T + np.eye(8), seed=1)
    fake = _gaussian(500, rng.normal(size=8), np.diag(rng.uniform(0.5, 3, size=8)), seed=2)
    mu1, s1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, s2 = fake.mean(0), np.cov(fake, rowvar=False)
    assert fid(real, fake) == pytest.approx(_closed_form(mu1, s1, mu2, s2), rel=1e-9)


def test_fid_agrees_with_torch_fidelity_statistics_formula():
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(300, 16)), rng.normal(size=(300, 16)) * 1.5 + 0.2
    stats = [{"mu": x.mean(0), "sigma": np.cov(x, rowvar=False)} for x in (real, fake)]
    expected = fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
    assert fid(real, fake) == pytest.approx(expected, rel=1e-9)


def test_fid_population_level_for_diagonal_gaussians():
    mu1, mu2 = np.zeros(4), np.array([1.0, -0.5, 0.0, 2.0])
    v1, v2 = np.array([1.0, 2.0, 0.5, 1.0]), np.array([4.0, 1.0, 0.5, 0.25])
    exact = float(((mu1 - mu2) ** 2).sum() + (v1 + v2 - 2 * np.sqrt(v1 * v2)).sum())  # diagonal: elementwise sqrt
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(exact, rel=1e-12)
    real = _gaussian(40_000, mu1, np.diag(v1), seed=4)
    fake = _gaussian(40_000, mu2, np.diag(v2), seed=5)
    assert fid(real, fake) == pytest.approx(exact, abs=0.05)


def test_fid_rejects_mismatched_widths():
    with pytest.raises(UserError, match="width"):
        fid(torch.randn(10, 3), torch.randn(10, 4))


# -- KID -------------------------------------------------------------------------------------------------------


def test_kid_near_zero_for_one_distribution_and_positive_for_a_shift():
    gen = torch.Generator().manual_seed(0)
    real, same = torch.randn(600, 16, generator=gen), torch.randn(600, 16, generator=gen)
    mean, std = kid(real, same, subsets=20, subset_size=300)
    assert abs(mean) < 3 * std
    shifted_mean, shifted_std = kid(real, same + 0.5, subsets=20, subset_size=300)
    assert shifted_mean > 10 * shifted_std and shifted_mean > 10 * abs(mean)


def test_kid_is_unbiased_over_many_small_draws():
    """Averaged over independent draws of one distribution the unbiased estimate centres on 0 (a biased V-statistic
    would be clearly positive with 10 samples per set)."""
    gen = torch.Generator().manual_seed(1)
    estimates = np.array([kid(torch.randn(10, 4, generator=gen), torch.randn(10, 4, generator=gen), subsets=1)[0]
                          for _ in range(400)])
    sem = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean()) < 4 * sem


def test_kid_one_full_subset_equals_torchmetrics_poly_mmd():
    from torchmetrics.image.kid import poly_mmd

    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(64, 8, generator=gen, dtype=torch.float64), torch.rand(64, 8, generator=gen).double()
    mean, std = kid(real, fake, subsets=1, subset_size=64)  # a whole-set subset is a permutation: same MMD
    assert mean == pytest.approx(float(poly_mmd(real, fake)), rel=1e-9)
    assert std == 0.0


def test_kid_is_reproducible_with_a_seed_and_needs_two_samples():
    x, y = torch.randn(100, 5), torch.randn(80, 5)
    assert kid(x, y, subsets=5, subset_size=50, seed=7) == kid(x, y, subsets=5, subset_size=50, seed=7)
    with pytest.raises(UserError, match="KID"):
        kid(x[:1], y)


# -- precision / recall ----------------------------------------------------------------------------------------


def _clusters(centres: list[tuple[float, float]], per: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.cat([torch.randn(per, 2, generator=gen, dtype=torch.float64) + torch.tensor(c) for c in centres])


CORNERS = [(-50.0, -50.0), (-50.0, 50.0), (50.0, -50.0), (50.0, 50.0)]


def test_identical_sets_have_full_precision_and_recall():
    x = _clusters(CORNERS, 50, seed=0)
    assert precision_recall(x, x) == (1.0, 1.0)


def test_far_apart_sets_have_zero_precision_and_recall():
    assert precision_recall(_clusters([(0.0, 0.0)], 200, 0), _clusters([(1000.0, 0.0)], 200, 1)) == (0.0, 0.0)


def test_covering_half_the_modes_gives_half_recall_full_precision():
    real = _clusters(CORNERS, 250, seed=0)
    fake = _clusters(CORNERS[:2], 500, seed=1)
    precision, recall = precision_recall(real, fake)
    assert precision > 0.95
    assert 0.4 < recall <= 0.5


def test_precision_recall_agrees_with_torch_fidelity_and_ignores_block_size():
    from torch_fidelity.metric_prc import prc_features_to_metric

    real, fake = _clusters(CORNERS, 60, seed=2), _clusters(CORNERS[1:], 70, seed=3) * 1.2
    ours = precision_recall(real, fake, k=3, block=1024)
    assert precision_recall(real, fake, k=3, block=7) == ours
    theirs = prc_features_to_metric(fake, real, prc_neighborhood=3, verbose=False)  # their order: fake, real
    assert ours == pytest.approx((theirs["precision"], theirs["recall"]), abs=1e-12)
