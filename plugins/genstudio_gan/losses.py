"""Adversarial losses and discriminator regularisers, as pure functions of logits (or of a critic).

`real` and `fake` are the discriminator's raw outputs (logits, N long) on real and generated images. Every loss is
a mean over the batch. softplus(x) = log(1 + e^x), so -log sigmoid(x) = softplus(-x) and
-log(1 - sigmoid(x)) = softplus(x).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from genstudio_gan import LOSSES

GP_WEIGHT = 10.0  # lambda of the gradient penalty (Gulrajani et al. 2017, algorithm 1)


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss for loss `kind`, without regularisers.

    - nonsaturating (Goodfellow et al. 2014, eq. 1): -log D(x) - log(1 - D(G(z))) = softplus(-real) + softplus(fake)
    - lsgan (Mao et al. 2017, eq. 2 with a = 0, b = 1): 1/2 (real - 1)^2 + 1/2 fake^2
    - hinge (Lim & Ye 2017; Miyato et al. 2018, eq. 16): relu(1 - real) + relu(1 + fake)
    - wgan-gp (Arjovsky et al. 2017; Gulrajani et al. 2017, eq. 3 without the penalty): fake - real
    """
    if kind == "nonsaturating":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    raise ValueError(f"unknown loss {kind!r}; expected one of {', '.join(LOSSES)}")


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss for loss `kind`.

    - nonsaturating (Goodfellow et al. 2014, section 3): -log D(G(z)) = softplus(-fake)
    - lsgan (Mao et al. 2017, eq. 2 with c = 1): 1/2 (fake - 1)^2
    - hinge and wgan-gp (Lim & Ye 2017; Arjovsky et al. 2017): -fake
    """
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r}; expected one of {', '.join(LOSSES)}")


def _input_gradient(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """d sum(critic(x)) / dx, N x (flattened input), kept in the graph so a penalty on it can be backpropagated.
    Computed in float32 whatever the autocast dtype: a penalty on fp16 gradients underflows."""
    x = x.detach().requires_grad_(True)
    outputs = critic(x).float().sum()
    (grad,) = torch.autograd.grad(outputs, x, create_graph=True)
    return grad.float().flatten(1)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP's penalty E[(||grad_x critic(x)||_2 - 1)^2] at x on random lines between real and fake images
    (Gulrajani et al. 2017, eq. 3; multiply by GP_WEIGHT). `critic` maps images to N logits."""
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1), generator=generator, device=real.device)
    mixed = eps * real.detach() + (1 - eps) * fake.detach()
    norms = _input_gradient(critic, mixed.to(real.dtype)).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1: gamma / 2 * E[||grad_x D(x)||^2] at real images (Mescheder et al. 2018, eq. 9)."""
    grad = _input_gradient(critic, real)
    return 0.5 * gamma * grad.pow(2).sum(dim=1).mean()
