"""The densities a VAE's objective is made of, per image, in nats (natural log), summed over dimensions.

Conventions. Images are N x C x H x W in [0, 1]; latents N x D (or any leading shape, the last dimension is the
latent's). Every function returns one value per image (the sum over pixels or latent dimensions); divide by
C * H * W for nats per dimension, and by log(2) more for bits per dimension.

The Bernoulli likelihood applied to intensities in [0, 1] that are not binary is the convention of the PyTorch
VAE example (binary cross entropy on grey levels): it is not a normalised density over [0, 1] (the continuous
Bernoulli of Loaiza-Ganem & Cunningham 2019 would be), so its "log-likelihood" is comparable only with other
models scored the same way. The Gaussian one is a density on the real line, which can exceed 1 (log-likelihoods
above 0) when the variance is small.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)


def _per_image(values: torch.Tensor) -> torch.Tensor:
    """Sum everything but the first dimension: N x ... -> N."""
    return values.flatten(1).sum(dim=1)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | z) = sum_i x_i log sigmoid(l_i) + (1 - x_i) log(1 - sigmoid(l_i)) = -BCE(l, x), from the
    decoder's logits `l` (Kingma & Welling 2014, appendix C.1), computed stably from the logits."""
    return -_per_image(F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none"))


def gaussian_log_likelihood(mean: torch.Tensor, log_std: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, sigma^2 I) = sum_i -log(2 pi)/2 - log sigma - (x_i - mean_i)^2 / (2 sigma^2) (Kingma &
    Welling 2014, appendix C.2), with `log_std` = log sigma broadcast against the image."""
    log_std = log_std.float()
    squared = (x.float() - mean.float()) ** 2 * torch.exp(-2 * log_std)
    return _per_image((-0.5 * LOG_2PI - log_std - 0.5 * squared).expand_as(x))


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) = 1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j), in closed
    form (Kingma & Welling 2014, appendix B). Over the last dimension: ... x D -> ..."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def log_normal(z: torch.Tensor, mu: torch.Tensor | float = 0.0, logvar: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) = sum_j -1/2 (log(2 pi) + logvar_j + (z_j - mu_j)^2 / exp(logvar_j)); the
    defaults give the standard-normal prior log p(z). Over the last dimension: ... x D -> ..."""
    z = z.float()
    mu = torch.as_tensor(mu, dtype=z.dtype, device=z.device)
    logvar = torch.as_tensor(logvar, dtype=z.dtype, device=z.device)
    return (-0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar))).expand_as(z).sum(dim=-1)
