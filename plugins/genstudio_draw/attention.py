"""DRAW's selective attention: an N x N grid of Gaussian filters placed on the image (Gregor et al. 2015, sec. 3.2).

From the decoder's state a linear layer emits five numbers (eq. 21),

    (g~_X, g~_Y, log sigma^2, log delta~, log gamma) = W(h_dec),

which place the grid: its centre and stride in pixels (eqs. 22, 24),

    g_X = (A + 1) / 2 * (g~_X + 1),   g_Y = (B + 1) / 2 * (g~_Y + 1),   delta = (max(A, B) - 1) / (N - 1) * delta~,

the filter means (eqs. 19, 20), for i, j = 1 .. N,

    mu_X^i = g_X + (i - N/2 - 0.5) delta,   mu_Y^j = g_Y + (j - N/2 - 0.5) delta,

and the filterbank matrices (eqs. 25, 26), N x A and N x B, each row normalised to sum to 1 (Z_X, Z_Y):

    F_X[i, a] = exp(-(a - mu_X^i)^2 / (2 sigma^2)) / Z_X,   F_Y[j, b] = exp(-(b - mu_Y^j)^2 / (2 sigma^2)) / Z_Y,

over the pixel columns a = 1 .. A and rows b = 1 .. B. Reading extracts an N x N glimpse of the image and of the
error image, scaled by the intensity gamma (eq. 27):  read = gamma [F_Y x F_X^T, F_Y x^ F_X^T]; writing spreads an
N x N patch w back over the canvas with the transposed filters of a second grid (eqs. 28, 29):
write = 1 / gamma^ F^_Y^T w F^_X. Colour images use the same filters on every channel (as the paper's SVHN and
CIFAR-10 models). Everything is differentiable and deterministic, so the decoder exports to ONNX as is.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-8  # keeps a filter row that covers no pixel (far outside the image) from dividing by zero


class Filterbank(nn.Module):
    """h_dec (N x dec_size) -> (F_X: N x n x A, F_Y: N x n x B, gamma: N x 1 x 1 x 1) for an n x n grid."""

    def __init__(self, dec_size: int, n: int, width: int, height: int):
        super().__init__()
        if n < 2:
            raise ValueError(f"an attention grid needs at least 2 x 2 filters, got {n}")
        self.n, self.width, self.height = n, width, height
        self.params = nn.Linear(dec_size, 5)  # eq. 21
        # i - N/2 - 0.5 for i = 1 .. N (eqs. 19, 20), and the pixel coordinates 1 .. A, 1 .. B
        self.register_buffer("offsets", torch.arange(1, n + 1, dtype=torch.float32) - n / 2 - 0.5, persistent=False)
        self.register_buffer("columns", torch.arange(1, width + 1, dtype=torch.float32), persistent=False)
        self.register_buffer("rows", torch.arange(1, height + 1, dtype=torch.float32), persistent=False)

    def forward(self, h_dec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gx_, gy_, log_var, log_delta, log_gamma = self.params(h_dec).split(1, dim=1)  # N x 1 each
        gx = (self.width + 1) / 2 * (gx_ + 1)  # eq. 22
        gy = (self.height + 1) / 2 * (gy_ + 1)  # eq. 23
        delta = (max(self.width, self.height) - 1) / (self.n - 1) * torch.exp(log_delta)  # eq. 24
        mu_x = gx + self.offsets * delta  # N x n (eq. 19)
        mu_y = gy + self.offsets * delta  # N x n (eq. 20)
        two_var = 2 * torch.exp(log_var).unsqueeze(2)  # N x 1 x 1
        f_x = torch.exp(-(self.columns - mu_x.unsqueeze(2)) ** 2 / two_var)  # N x n x A (eq. 25)
        f_y = torch.exp(-(self.rows - mu_y.unsqueeze(2)) ** 2 / two_var)  # N x n x B (eq. 26)
        f_x = f_x / (f_x.sum(dim=2, keepdim=True) + EPS)
        f_y = f_y / (f_y.sum(dim=2, keepdim=True) + EPS)
        gamma = torch.exp(log_gamma).view(-1, 1, 1, 1)  # N x 1 x 1 x 1
        return f_x, f_y, gamma


class AttentiveReader(nn.Module):
    """read(x, x^, h_dec) = gamma [F_Y x F_X^T, F_Y x^ F_X^T] (eq. 27) -> N x (2 * C * n * n)."""

    def __init__(self, dec_size: int, n: int, channels: int, resolution: int):
        super().__init__()
        self.filters = Filterbank(dec_size, n, resolution, resolution)
        self.size = 2 * channels * n * n

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor, h_dec: torch.Tensor) -> torch.Tensor:
        f_x, f_y, gamma = self.filters(h_dec)
        f_y, f_xt = f_y.unsqueeze(1), f_x.transpose(1, 2).unsqueeze(1)  # N x 1 x n x B, N x 1 x A x n
        glimpse = gamma * (f_y @ x @ f_xt)  # N x C x n x n
        error = gamma * (f_y @ x_hat @ f_xt)  # N x C x n x n
        return torch.cat([glimpse.flatten(1), error.flatten(1)], dim=1)  # N x 2Cn^2


class AttentiveWriter(nn.Module):
    """write(h_dec) = 1 / gamma^ F^_Y^T w F^_X with the patch w = W(h_dec) (eqs. 28, 29) -> N x C x R x R."""

    def __init__(self, dec_size: int, n: int, channels: int, resolution: int):
        super().__init__()
        self.n, self.channels = n, channels
        self.filters = Filterbank(dec_size, n, resolution, resolution)
        self.patch = nn.Linear(dec_size, channels * n * n)  # eq. 28

    def forward(self, h_dec: torch.Tensor) -> torch.Tensor:
        f_x, f_y, gamma = self.filters(h_dec)
        w = self.patch(h_dec).view(-1, self.channels, self.n, self.n)  # N x C x n x n
        spread = f_y.transpose(1, 2).unsqueeze(1) @ w @ f_x.unsqueeze(1)  # N x C x B x A
        return spread / gamma


class PlainReader(nn.Module):
    """read(x, x^, h_dec) = [x, x^] (eq. 17): the whole image and error image, N x (2 * C * R * R)."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        self.size = 2 * channels * resolution * resolution

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor, h_dec: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), x_hat.flatten(1)], dim=1)


class PlainWriter(nn.Module):
    """write(h_dec) = W(h_dec) (eq. 18): a whole-canvas update, N x C x R x R."""

    def __init__(self, dec_size: int, channels: int, resolution: int):
        super().__init__()
        self.shape = (channels, resolution, resolution)
        self.linear = nn.Linear(dec_size, channels * resolution * resolution)

    def forward(self, h_dec: torch.Tensor) -> torch.Tensor:
        return self.linear(h_dec).view(-1, *self.shape)
