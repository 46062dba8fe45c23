"""The growing generator and discriminator of Karras et al. 2018 ("Progressive Growing of GANs", table 2).

Both hold the layers of every stage from the start; two buffers, `stage` and `alpha`, say how far they have
grown, so a saved model (and a checkpoint) records its growth with its weights and `build(config)` always gives
the same parameter shapes. A fresh network is fully grown (last stage, alpha 1): the shape a trained model ends in.
Widths for ngf = 512 at 32 x 32 (the paper's at 1024 x 1024 keep 512 up to 64 x 64, then halve):

    G: z (latent) -> pixelnorm -> dense 512 x 4 x 4 -> conv3x3 512 x 4 x 4 -> [up x2, conv3x3, conv3x3]:
       512 x 8 x 8 -> 256 x 16 x 16 -> 128 x 32 x 32 -> toRGB (1x1 conv) -> C x 32 x 32
    D: C x 32 x 32 -> fromRGB (1x1 conv) 128 x 32 x 32 -> [conv3x3, conv3x3, avgpool]: 256 x 16 x 16
       -> 512 x 8 x 8 -> 512 x 4 x 4 -> minibatch std 513 x 4 x 4 -> conv3x3 -> conv4x4 512 x 1 x 1 -> dense 1

A stage being faded in is blended with the previous stage's output (figure 2): G's image is
(1 - alpha) * upsample(toRGB_old(h)) + alpha * toRGB_new(block(h)), D's features
(1 - alpha) * fromRGB_old(avgpool(x)) + alpha * block(fromRGB_new(x)).
Every conv and dense layer uses the equalized learning rate (section 4.1), G normalises its features per pixel
(section 4.2), D sees the minibatch standard deviation (section 3). LeakyReLU(0.2) throughout; G's output is
linear (no tanh) and `generate` maps it to [0, 1] with (x + 1) / 2, clamped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from genstudio_gan.networks import MinibatchStd
from torch import nn

from genstudio_progan.schedule import stage_count

LRELU = 0.2


def stage_width(width: int, stage: int) -> int:
    """Features at stage `stage` (4 * 2**stage px) for base width `width`: width at 4 and 8 px, then halved per
    stage, never below width / 8."""
    return max(width >> max(0, stage - 1), max(1, width // 8))


class EqualizedConv2d(nn.Module):
    """Conv2d with the equalized learning rate (Karras et al. 2018, section 4.1): weights drawn from N(0, 1) and
    scaled at every forward by He's constant gain / sqrt(fan_in), so Adam's per-parameter step sizes act alike
    on every layer. Biases start at 0."""

    def __init__(self, inputs: int, outputs: int, kernel: int, padding: int = 0, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(outputs, inputs, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(outputs))
        self.scale = gain / math.sqrt(inputs * kernel * kernel)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """Linear with the equalized learning rate (section 4.1)."""

    def __init__(self, inputs: int, outputs: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(outputs, inputs))
        self.bias = nn.Parameter(torch.zeros(outputs))
        self.scale = gain / math.sqrt(inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixelwise feature vector normalisation (section 4.2, eq. 2): b = a / sqrt(mean over channels of a^2 + eps)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class Growing(nn.Module):
    """The growth state both networks share: buffers `stage` (int) and `alpha` (float)."""

    def __init__(self, stages: int):
        super().__init__()
        self.stages = stages
        self.register_buffer("stage", torch.tensor(stages - 1, dtype=torch.int64))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_growth(self, stage: int, alpha: float) -> None:
        if not 0 <= stage < self.stages or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"stage must be in 0..{self.stages - 1} and alpha in [0, 1], got {stage}, {alpha}")
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    def growth(self) -> tuple[int, float]:
        """(stage, alpha) as Python numbers: the control flow of a forward (constants in an exported graph)."""
        return int(self.stage), float(self.alpha)


class ProGenerator(Growing):
    """GeneratorModel: `generate(z) -> N x C x R x R in [0, 1]` at the full size R whatever the stage (the image
    of an earlier stage is upsampled, nearest neighbour, so sample grids read as one sequence)."""

    def __init__(
        self,
        latent_dim: int = 128,  # length of z
        channels: int = 3,  # C
        resolution: int = 32,  # R: the final size, a power of two
        ngf: int = 128,  # width at 4 x 4 and 8 x 8
    ):
        super().__init__(stage_count(resolution))
        self.latent_dim, self.num_classes = latent_dim, 0
        self.channels, self.resolution = channels, resolution
        widths = [stage_width(ngf, s) for s in range(self.stages)]
        self.dense = EqualizedLinear(latent_dim, widths[0] * 16, gain=math.sqrt(2) / 4)  # widths[0] x 4 x 4
        blocks = [EqualizedConv2d(widths[0], widths[0], 3, 1)]  # widths[0] x 4 x 4
        for s in range(1, self.stages):  # up x2, then two convs: widths[s] x 4*2**s x 4*2**s
            blocks.append(nn.ModuleList([EqualizedConv2d(widths[s - 1], widths[s], 3, 1),
                                         EqualizedConv2d(widths[s], widths[s], 3, 1)]))
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(w, channels, 1, gain=1.0) for w in widths)  # C x ... linear

    @staticmethod
    def _act(x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(F.leaky_relu(x, LRELU))

    def _block(self, s: int, h: torch.Tensor) -> torch.Tensor:
        if s == 0:
            return self._act(self.blocks[0](h))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        for conv in self.blocks[s]:
            h = self._act(conv(h))
        return h

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images at the current stage's size (4 * 2**stage), in about [-1, 1]: what the discriminator sees."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim}, got {tuple(z.shape)}")
        stage, alpha = self.growth()
        h = self._act(self.dense(pixel_norm(z)).view(z.shape[0], -1, 4, 4))  # widths[0] x 4 x 4
        for s in range(stage):
            h = self._block(s, h)
        new = self.to_rgb[stage](self._block(stage, h))  # C x 4*2**stage x 4*2**stage
        if stage == 0 or alpha >= 1.0:
            return new
        old = F.interpolate(self.to_rgb[stage - 1](h), scale_factor=2, mode="nearest")
        return torch.lerp(old, new, alpha)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        images = self.synthesize(z, labels)
        if images.shape[-1] != self.resolution:
            images = F.interpolate(images, size=(self.resolution, self.resolution), mode="nearest")
        return ((images + 1) / 2).clamp(0, 1)  # C x R x R in [0, 1]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(z, labels)


class ProDiscriminator(Growing):
    """D(images at the current stage's size in [-1, 1]) -> N logits (critic values with wgan-gp)."""

    def __init__(
        self,
        channels: int = 3,  # C
        resolution: int = 32,  # R: the final size
        ndf: int = 128,  # width at 4 x 4 and 8 x 8
        minibatch_std: bool = True,  # one more feature map before the last block
    ):
        super().__init__(stage_count(resolution))
        widths = [stage_width(ndf, s) for s in range(self.stages)]
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, w, 1) for w in widths)  # widths[s] x ...
        blocks: list[nn.Module] = [nn.ModuleList()]  # stage 0 has none: the final layers below
        for s in range(1, self.stages):  # widths[s] x 4*2**s -> widths[s - 1] x 4*2**(s-1)
            blocks.append(nn.ModuleList([EqualizedConv2d(widths[s], widths[s], 3, 1),
                                         EqualizedConv2d(widths[s], widths[s - 1], 3, 1)]))
        self.blocks = nn.ModuleList(blocks)
        self.mbstd = MinibatchStd() if minibatch_std else nn.Identity()
        last = widths[0] + (1 if minibatch_std else 0)  # (widths[0] + 1) x 4 x 4
        self.final_conv = EqualizedConv2d(last, widths[0], 3, 1)  # widths[0] x 4 x 4
        self.final_4x4 = EqualizedConv2d(widths[0], widths[0], 4)  # widths[0] x 1 x 1
        self.head = EqualizedLinear(widths[0], 1, gain=1.0)  # 1

    def _from_rgb(self, s: int, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.from_rgb[s](x), LRELU)

    def _block(self, s: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[s]:
            h = F.leaky_relu(conv(h), LRELU)
        return F.avg_pool2d(h, 2)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        stage, alpha = self.growth()
        if x.shape[-1] != 4 * 2**stage:
            raise ValueError(f"stage {stage} takes {4 * 2**stage} x {4 * 2**stage} images, got {tuple(x.shape)}")
        h = self._from_rgb(stage, x)
        if stage > 0:
            h = self._block(stage, h)  # widths[stage - 1] x half size
            if alpha < 1.0:
                h = torch.lerp(self._from_rgb(stage - 1, F.avg_pool2d(x, 2)), h, alpha)
            for s in range(stage - 1, 0, -1):
                h = self._block(s, h)
        h = F.leaky_relu(self.final_conv(self.mbstd(h)), LRELU)  # widths[0] x 4 x 4
        h = F.leaky_relu(self.final_4x4(h), LRELU).flatten(1)  # widths[0]
        return self.head(h).view(-1)  # N
