"""Distances between two sets of image features: FID, KID and improved precision/recall.

Inputs are feature matrices, `real` N x D and `fake` M x D (torch tensors or numpy arrays); all math runs in
float64 on the CPU. The functions know nothing about images or networks: `features.py` makes the matrices.
"""

from __future__ import annotations

from typing import Any

import torch

from genstudio.errors import UserError


def as_features(x: Any, what: str) -> torch.Tensor:
    """A 2-d float64 CPU tensor from a tensor or array; UserError (naming `what`) for anything else."""
    t = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if t.ndim != 2 or t.shape[0] == 0:
        raise UserError(f"{what} features must be a non-empty N x D matrix, got shape {tuple(t.shape)}")
    return t


def _check_pair(real: Any, fake: Any) -> tuple[torch.Tensor, torch.Tensor]:
    r, f = as_features(real, "real"), as_features(fake, "fake")
    if r.shape[1] != f.shape[1]:
        raise UserError(f"real and fake features differ in width ({r.shape[1]} vs {f.shape[1]})")
    return r, f


# --------------------------------------------------------------------------------------------------------------
# FID
# --------------------------------------------------------------------------------------------------------------


def mean_cov(features: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D) and unbiased covariance (D x D, divided by N-1 as numpy.cov and pytorch-fid do)."""
    x = as_features(features, "feature")
    if x.shape[0] < 2:
        raise UserError("a covariance needs at least 2 feature vectors")
    mu = x.mean(dim=0)
    centred = x - mu
    return mu, centred.T @ centred / (x.shape[0] - 1)


def _psd_sqrt(sym: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix via eigh; round-off negatives are clipped to 0."""
    evals, evecs = torch.linalg.eigh((sym + sym.T) / 2)
    return (evecs * evals.clamp(min=0).sqrt()) @ evecs.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Dowson & Landau 1982; FID: Heusel et al. 2017):

        d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

    Tr((S1 S2)^{1/2}) is computed as Tr((S1^{1/2} S2 S1^{1/2})^{1/2}): S1 S2 is similar to the symmetric PSD
    matrix S1^{1/2} S2 S1^{1/2}, so both have the same (real, non-negative) eigenvalues. Two symmetric
    eigendecompositions (torch.linalg.eigh) replace scipy.linalg.sqrtm of the non-symmetric product, which is
    slower for D = 2048 and returns spurious imaginary parts on near-singular covariances (pytorch-fid has to
    add an eps * I and discard the imaginary part to cope).
    """
    mu1, mu2 = (torch.as_tensor(m, dtype=torch.float64) for m in (mu1, mu2))
    s1, s2 = (torch.as_tensor(s, dtype=torch.float64) for s in (sigma1, sigma2))
    root1 = _psd_sqrt(s1)
    middle = root1 @ s2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt)


def fid(real: Any, fake: Any) -> float:
    """Fréchet Inception Distance between two feature sets (Heusel et al. 2017, arXiv:1706.08500)."""
    r, f = _check_pair(real, fake)
    return frechet_distance(*mean_cov(r), *mean_cov(f))


# --------------------------------------------------------------------------------------------------------------
# KID
# --------------------------------------------------------------------------------------------------------------


def _poly_kernel(a: torch.Tensor, b: torch.Tensor, degree: int, gamma: float, coef0: float) -> torch.Tensor:
    return (gamma * (a @ b.T) + coef0) ** degree  # k(x, y) = (gamma x.y + coef0)^degree


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float) -> float:
    """Unbiased MMD^2 estimate (Gretton et al. 2012, eq. 3): the within-set sums leave out the diagonal."""
    m = x.shape[0]
    k_xx = _poly_kernel(x, x, degree, gamma, coef0)
    k_yy = _poly_kernel(y, y, degree, gamma, coef0)
    k_xy = _poly_kernel(x, y, degree, gamma, coef0)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kid(
    real: Any,
    fake: Any,
    subsets: int = 100,  # random subsets averaged over (torchmetrics' default)
    subset_size: int = 1000,  # samples per subset; lowered to the smaller set's size when that is smaller
    degree: int = 3,  # polynomial kernel degree
    gamma: float | None = None,  # kernel scale; None: 1 / D
    coef0: float = 1.0,  # kernel offset
    seed: int = 0,  # subsets are drawn from a torch.Generator seeded with this
) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018, arXiv:1801.01401): mean and std of the unbiased MMD^2
    with the kernel (x.y / D + 1)^3 over random subsets, each drawn without replacement from each set.

    The std is the population std over subsets (as torchmetrics' `kid_std`); it is a spread, not an error bar.
    """
    r, f = _check_pair(real, fake)
    size = min(subset_size, r.shape[0], f.shape[0])
    if size < 2 or subsets < 1:
        raise UserError(f"KID needs at least 2 samples per set and 1 subset (got subset size {size}, {subsets})")
    gamma = 1.0 / r.shape[1] if gamma is None else gamma
    gen = torch.Generator().manual_seed(seed)
    scores = torch.empty(subsets, dtype=torch.float64)
    for i in range(subsets):
        x = r[torch.randperm(r.shape[0], generator=gen)[:size]]
        y = f[torch.randperm(f.shape[0], generator=gen)[:size]]
        scores[i] = _mmd2_unbiased(x, y, degree, gamma, coef0)
    return float(scores.mean()), float(scores.std(unbiased=False))


# --------------------------------------------------------------------------------------------------------------
# Improved precision and recall
# --------------------------------------------------------------------------------------------------------------


def knn_radii(x: torch.Tensor, k: int, block: int = 256) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row, computed `block` rows at a time."""
    if x.shape[0] <= k:
        raise UserError(f"precision/recall with k={k} needs more than {k} samples per set, got {x.shape[0]}")
    radii = torch.empty(x.shape[0], dtype=torch.float64)
    for start in range(0, x.shape[0], block):
        d = torch.cdist(x[start : start + block], x)  # block x N
        radii[start : start + block] = d.kthvalue(k + 1, dim=1).values  # k+1: the row itself is at distance 0
    return radii


def _inside_manifold(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, block: int) -> float:
    """Fraction of queries inside at least one ball (centre_j, radius_j)."""
    inside = 0
    for start in range(0, queries.shape[0], block):
        d = torch.cdist(queries[start : start + block], centres)  # block x N
        inside += int((d <= radii[None, :]).any(dim=1).sum())
    return inside / queries.shape[0]


def precision_recall(
    real: Any,
    fake: Any,
    k: int = 3,  # neighbourhood size for the k-NN radii (the paper's default)
    block: int = 256,  # rows per torch.cdist call: memory is block x N float64 (100 MB at N = 50k)
) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, arXiv:1904.06991).

    Each set's manifold is the union of balls around its samples, radius = distance to the k-th nearest
    neighbour in the same set. Precision is the fraction of fake samples inside the real manifold; recall is the
    fraction of real samples inside the fake manifold.
    """
    r, f = _check_pair(real, fake)
    precision = _inside_manifold(f, r, knn_radii(r, k, block), block)
    recall = _inside_manifold(r, f, knn_radii(f, k, block), block)
    return precision, recall


def inception_score(logits: Any, splits: int = 10, seed: int = 2020) -> tuple[float, float]:
    """Inception Score (Salimans et al. 2016, section 4): exp(E_x KL(p(y|x) || p(y))), p(y|x) the softmax of the
    classifier's scores and p(y) their mean, over `splits` parts of the (shuffled) images; (mean, std) over the
    parts. torch-fidelity's implementation (its defaults: 10 splits, shuffle seed 2020), so InceptionV3 logits
    give its numbers."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    logits = torch.as_tensor(logits).float().reshape(len(logits), -1)
    if len(logits) < splits:
        raise UserError(f"the Inception Score needs at least {splits} images (one per split), got {len(logits)}")
    if logits.shape[1] < 2:
        raise UserError(f"the Inception Score needs class scores of at least 2 classes, got {logits.shape[1]}")
    result = isc_features_to_metric(logits, splits=splits, shuffle=True, rng_seed=seed)
    return float(result[KEY_METRIC_ISC_MEAN]), float(result[KEY_METRIC_ISC_STD])
