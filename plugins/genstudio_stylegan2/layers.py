"""The layers StyleGAN2 is built from, in plain PyTorch (no custom CUDA ops, every op exportable to ONNX).

- Equalized learning rate (Karras et al. 2018, section 4.1): parameters drawn from N(0, 1) / lr_mul and scaled
  at run time by lr_mul / sqrt(fan_in); the mapping network uses lr_mul = 0.01 (Karras et al. 2019, appendix C).
- Modulated convolution with weight demodulation (Karras et al. 2020a, section 2.2, eqs. 1-3), computed the
  "non-fused" way: scaling the input by the style and the output by the demodulation coefficient equals
  convolving with the per-sample modulated weights, and works for any batch size in an exported graph.
- Up-sampling by 2 is bilinear (F.interpolate), which is the [1, 3, 3, 1] FIR filter of the paper (Karras et
  al. 2020a, appendix B, after Zhang 2019); down-sampling by 2 convolves with the same filter at stride 2.
- Minibatch standard deviation over groups (Karras et al. 2018, section 3; Karras et al. 2020a, appendix B:
  group size 4, one feature).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # He's gain for leaky ReLU, applied after the activation as in StyleGAN2


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU(0.2) scaled by sqrt(2) so activations keep unit variance (Karras et al. 2020a, appendix B)."""
    return F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) over the features: the normalisation of z before the mapping network
    (Karras et al. 2019, appendix C; pixel norm of Karras et al. 2018, eq. 2)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualizedLinear(nn.Module):
    """Fully connected layer with the equalized learning rate; optionally leaky ReLU (with gain sqrt(2))."""

    def __init__(self, inputs: int, outputs: int, *, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(outputs, inputs) / lr_mul)
        self.bias = nn.Parameter(torch.full([outputs], float(bias_init)))
        self.weight_gain = lr_mul / math.sqrt(inputs)
        self.bias_gain = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return lrelu(x) if self.activation else x

    def lookup(self, labels: torch.Tensor) -> torch.Tensor:
        """The layer applied to one-hot class vectors, as a table lookup (a Gather in ONNX): N int64 -> N x outputs."""
        return F.embedding(labels, (self.weight * self.weight_gain).t()) + self.bias * self.bias_gain


class EqualizedConv2d(nn.Module):
    """Convolution with the equalized learning rate; `down` filters with [1, 3, 3, 1] and halves the size first;
    leaky ReLU (gain sqrt(2)) when `activation`. `gain` scales the output (sqrt(1/2) on residual branches)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, *, bias: bool = True, activation: bool = True,
                 down: bool = False, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(outputs, inputs, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(outputs)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(inputs * kernel * kernel)
        self.activation, self.down, self.gain = activation, down, gain
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = downsample2x(x)
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)
        x = lrelu(x) if self.activation else x
        return x * self.gain if self.gain != 1.0 else x


def _fir_kernel(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=dtype, device=device)
    kernel = torch.outer(taps, taps)
    return (kernel / kernel.sum()).expand(channels, 1, 4, 4)  # C x 1 x 4 x 4, depthwise


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """Low-pass with the separable [1, 3, 3, 1] filter and keep every second pixel: C x H x W -> C x H/2 x W/2."""
    return F.conv2d(x, _fir_kernel(x.shape[1], x.dtype, x.device), stride=2, padding=1, groups=x.shape[1])


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 (the [1, 3, 3, 1] FIR up-sampling filter, edges replicated): C x H x W -> C x 2H x 2W."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class ModulatedConv2d(nn.Module):
    """A convolution whose input feature maps are scaled by a style s = A(w) per sample (Karras et al. 2020a,
    eq. 1: w'_ijk = s_i * w_ijk) and, with `demodulate`, whose outputs are brought back to unit variance
    (eq. 3: w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps)). `up` doubles the size first (bilinear)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, w_dim: int, *, demodulate: bool = True,
                 up: bool = False, style_gain: float = 1.0):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, inputs, bias_init=1.0)  # A: styles start at 1
        self.weight = nn.Parameter(torch.randn(outputs, inputs, kernel, kernel))
        self.weight_gain = 1.0 / math.sqrt(inputs * kernel * kernel)
        self.demodulate, self.up, self.style_gain = demodulate, up, style_gain
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.style_gain  # N x I
        weight = self.weight * self.weight_gain  # O x I x k x k
        if self.up:
            x = upsample2x(x)
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)  # eq. 1, applied to x
        if self.demodulate:  # eq. 3: sigma_j = sqrt(sum_i s_i^2 sum_k w_ijk^2), N x O
            sigma_inv = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()
            x = x * sigma_inv[:, :, None, None]
        return x


class MinibatchStdGroup(nn.Module):
    """Appends the standard deviation of each feature over groups of `group` images, averaged to one value per
    group, as one more feature map (Karras et al. 2018, section 3; StyleGAN2's group size 4)."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = max(g for g in range(1, min(self.group, n) + 1) if n % g == 0)  # a divisor of the batch
        y = x.float().reshape(group, -1, c, h, w)  # G x M x C x H x W: image m of every group
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # M x C x H x W: variance over the group
        y = (y + 1e-8).sqrt().mean(dim=(1, 2, 3))  # M: mean standard deviation
        y = y.reshape(-1, 1, 1, 1).repeat(group, 1, h, w).to(x.dtype)  # N x 1 x H x W
        return torch.cat([x, y], dim=1)
