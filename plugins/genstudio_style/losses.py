"""The style-transfer losses and AdaIN, as plain functions of feature maps.

Feature maps are N x C x H x W. References:
  Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016 (Gram matrices,
      content and style losses, eq. 1-5);
  Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer", ECCV 2016 (Gram normalised by
      C*H*W, total-variation regulariser);
  Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017
      (AdaIN eq. 8, the mean/std style loss eq. 13).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

EPS = 1e-5


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T / (C H W) per image (Gatys 2016 eq. 3, normalised as Johnson 2016 eq. 3): N x C x C."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w).float()  # N x C x HW
    return flat @ flat.transpose(1, 2) / (c * h * w)  # N x C x C


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared feature difference (Gatys 2016 eq. 1, as a mean rather than half a sum)."""
    return torch.mean((features.float() - target.float()) ** 2)


def style_loss(grams: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor],
               weights: Mapping[str, float], *, relative: bool = True) -> torch.Tensor:
    """sum_l w_l ||G_l - A_l||^2 over the style layers (Gatys 2016 eq. 4-5), mean over the Gram entries.

    With `relative`, each layer's term is divided by the mean square of its target Gram ||A_l||^2: the loss then
    reads the same whatever the feature network's activation scale (ImageNet or random weights), so one set of
    default weights serves both. Targets may have batch size 1 (broadcast over the batch).
    """
    total = torch.zeros((), device=next(iter(grams.values())).device)
    for name, gram in grams.items():
        target = targets[name]
        term = torch.mean((gram - target) ** 2)
        if relative:
            term = term / torch.mean(target ** 2).clamp_min(1e-12)
        total = total + weights[name] * term
    return total


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels (anisotropic TV; Johnson 2016 section 3.3)."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return dx + dy


def mean_std(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and standard deviation over space: two N x C x 1 x 1 tensors."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1).float()  # N x C x HW
    var = flat.var(dim=2, unbiased=False) + EPS
    return flat.mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor) -> torch.Tensor:
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y) (Huang & Belongie 2017, eq. 8)."""
    mean, std = mean_std(content)
    return (content.float() - mean) / std * style_std + style_mean


def mean_std_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
                  *, relative: bool = False) -> torch.Tensor:
    """sum_l ||mu(phi_l(g)) - mu(phi_l(s))||^2 + ||sigma(phi_l(g)) - sigma(phi_l(s))||^2 (Huang 2017, eq. 13),
    as means over channels. With `relative`, each layer's term is divided by the mean square of its targets (as in
    `style_loss`), so the weight does not depend on the feature network's activation scale."""
    total = torch.zeros((), device=next(iter(features.values())).device)
    for name, feature in features.items():
        mean, std = mean_std(feature)
        target_mean, target_std = targets[name]
        term = torch.mean((mean - target_mean) ** 2) + torch.mean((std - target_std) ** 2)
        if relative:
            term = term / (torch.mean(target_mean ** 2) + torch.mean(target_std ** 2)).clamp_min(1e-12)
        total = total + term
    return total
