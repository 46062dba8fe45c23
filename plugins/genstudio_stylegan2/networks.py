"""StyleGAN2's generator and discriminator (Karras et al. 2020a, figure 7 (b) skip generator and (c) residual
discriminator, config F with our defaults for widths).

Widths are ch(r) = min(channel_base / r, channel_max) at resolution r. For resolution R and B = log2(R) - 1 blocks:

    mapping:   z (latent_dim), normalised [+ class embedding, normalised] -> mapping_layers x FC(lrelu, lr x 0.01)
               -> w (w_dim), broadcast to num_ws = 2B style vectors (one per modulated layer)
    synthesis: const ch(4) x 4 x 4 -> modconv3x3 (w0) -> ToRGB (w1)                            block at 4 x 4
               -> up x2, modconv3x3 (w_{2b-1}) -> modconv3x3 (w_{2b}) -> ToRGB (w_{2b+1})        block b at 4*2^b
               each modconv: + noise x learned strength, + bias, lrelu; the image is the sum of every block's
               ToRGB, each earlier one upsampled (bilinear): C x R x R, linear (about [-1, 1])
    D:         C x R x R -> fromRGB 1x1 ch(R) -> [conv3x3, conv3x3 down x2 | skip: down x2, 1x1] / sqrt(2)
               ... -> ch(4) x 4 x 4 -> minibatch std (ch(4) + 1) -> conv3x3 -> FC ch(4) -> FC 1
               (conditional: FC to ch(4), projected on the class embedding / sqrt(ch(4)))

The ToRGB of block b and the first conv of block b + 1 read the same style vector, as in the official code, so
layer l of the styles (0 .. num_ws - 1) controls coarse features for small l and fine ones for large l.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from genstudio.data import aspect_size
from genstudio_stylegan2.layers import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdGroup,
    ModulatedConv2d,
    lrelu,
    normalize_2nd_moment,
    upsample2x,
)

MAPPING_LR_MUL = 0.01  # Karras et al. 2019, appendix C: the mapping network learns 100x slower


def block_count(resolution: int) -> int:
    """Synthesis blocks from 4 x 4 to `resolution` (a power of two >= 8): 8 -> 2, 32 -> 4, 256 -> 7."""
    count = int(math.log2(resolution)) - 1
    if resolution < 8 or 2 ** (count + 1) != resolution:
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return count


def window(resolution: int, height: int, width: int) -> tuple[slice, slice]:
    """The centred height x width window of the resolution x resolution square: (rows, columns)."""
    top, left = (resolution - height) // 2, (resolution - width) // 2
    return slice(top, top + height), slice(left, left + width)


def width(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at `resolution`."""
    return max(1, min(channel_base // resolution, channel_max))


class MappingNetwork(nn.Module):
    """z (and a class) -> w (Karras et al. 2019, section 2 and figure 1b). Holds `w_avg`, the running mean of w the
    training tracks (a buffer: it is saved with the weights) and truncation moves toward."""

    def __init__(self, latent_dim: int, w_dim: int, num_classes: int, layers: int):
        super().__init__()
        self.embed = EqualizedLinear(num_classes, w_dim) if num_classes else None  # class -> w_dim
        features = [latent_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualizedLinear(features[i], features[i + 1], lr_mul=MAPPING_LR_MUL,
                                                    activation=True) for i in range(layers))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z)  # N x latent_dim
        if self.embed is not None:
            x = torch.cat([x, normalize_2nd_moment(self.embed.lookup(labels))], dim=1)  # + N x w_dim
        for layer in self.layers:
            x = layer(x)
        return x  # N x w_dim


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally after x2 up-sampling), + per-pixel noise x a learned strength (Karras et
    al. 2019, section 3.2; one scalar per layer in Karras et al. 2020a, figure 2c), + bias, leaky ReLU."""

    def __init__(self, inputs: int, outputs: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(inputs, outputs, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(outputs))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))  # the fixed noise
        self.resolution = resolution

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        x = self.conv(x, w)  # N x outputs x r x r
        if noise is None:  # training: fresh noise per image
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device, dtype=x.dtype)
        return lrelu(x + noise * self.noise_strength + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, + bias (Karras et al. 2020a, figure 7b)."""

    def __init__(self, inputs: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(inputs, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (const | up + conv), conv, ToRGB added to the upsampled image."""

    def __init__(self, inputs: int, outputs: int, w_dim: int, resolution: int, channels: int):
        super().__init__()
        self.first = inputs == 0
        if self.first:
            self.const = nn.Parameter(torch.randn(outputs, 4, 4))  # the learned constant input (Karras 2019)
        else:
            self.conv0 = SynthesisLayer(inputs, outputs, w_dim, resolution, up=True)
        self.conv1 = SynthesisLayer(outputs, outputs, w_dim, resolution)
        self.torgb = ToRGB(outputs, channels, w_dim)
        self.num_conv = 1 if self.first else 2

    def layers(self) -> list[SynthesisLayer]:
        return [self.conv1] if self.first else [self.conv0, self.conv1]

    def forward(self, x: torch.Tensor | None, image: torch.Tensor | None, ws: torch.Tensor,
                noise: list[torch.Tensor | None]) -> tuple[torch.Tensor, torch.Tensor]:
        """ws: N x (num_conv + 1) x w_dim, the styles of this block's convs and its ToRGB."""
        if self.first:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)  # N x ch x 4 x 4
        for i, layer in enumerate(self.layers()):
            x = layer(x, ws[:, i], noise[i])
        rgb = self.torgb(x, ws[:, self.num_conv])
        image = rgb if image is None else upsample2x(image) + rgb  # skip architecture
        return x, image


class SynthesisNetwork(nn.Module):
    """ws (N x num_ws x w_dim) -> images N x C x R x R, linear (about [-1, 1])."""

    def __init__(self, w_dim: int, channels: int, resolution: int, channel_base: int, channel_max: int):
        super().__init__()
        blocks = []
        for b in range(block_count(resolution)):
            size = 4 * 2**b
            inputs = 0 if b == 0 else width(size // 2, channel_base, channel_max)
            blocks.append(SynthesisBlock(inputs, width(size, channel_base, channel_max), w_dim, size, channels))
        self.blocks = nn.ModuleList(blocks)
        self.num_ws = 2 * len(blocks)
        self.noise_layers = [layer for block in blocks for layer in block.layers()]  # plain list: no new names

    def forward(self, ws: torch.Tensor, noise: str | list[torch.Tensor] = "random") -> torch.Tensor:
        """`noise`: "random" (fresh, training), "const" (each layer's fixed noise) or one tensor per layer
        (N x 1 x r x r, the exported graph's noise inputs)."""
        if isinstance(noise, str):
            noise = [None if noise == "random" else layer.noise_const for layer in self.noise_layers]
        x = image = None
        start, used = 0, 0
        for block in self.blocks:
            count = block.num_conv
            x, image = block(x, image, ws[:, start:start + count + 1], noise[used:used + count])
            start, used = start + count, used + count
        return image


class StyleGenerator(nn.Module):
    """GeneratorModel with the `style_mixing` and own-truncation capabilities.

    `generate(z, labels)` -> N x C x H x W in [0, 1] with the fixed noise (R x R, or the centred window of a
    non-square `aspect`); z may also be styles (N x num_ws x w_dim, what `truncate` returns). `generate_styles`
    adds truncation toward w_avg (per-layer cutoff) and style mixing; the exported graphs compute exactly
    `styled`, with every option a graph input.

    A non-square model synthesises the square and crops its centred window (`crop`); in training the
    discriminator sees the same window of real and generated images inside a blank square (see
    genstudio_stylegan2.train), so the architecture, the checkpoints and the export are those of the square
    model, any ratio works, and nothing outside the window is ever judged. (A non-square constant input would
    save the hidden pixels' compute, but only fits ratios of small whole numbers and needs a non-square
    discriminator head.)"""

    def __init__(
        self,
        latent_dim: int = 256,  # length of z
        w_dim: int = 256,  # length of w
        num_classes: int = 0,  # 0: unconditional
        channels: int = 3,  # C
        resolution: int = 32,  # R, a power of two
        channel_base: int = 8192,
        channel_max: int = 256,
        mapping_layers: int = 8,
        aspect: str = "1:1",  # W:H of the output: the centred window of the square synthesis (see `crop`)
    ):
        super().__init__()
        self.latent_dim, self.w_dim, self.num_classes = latent_dim, w_dim, num_classes
        self.channels, self.resolution = channels, resolution
        self.height, self.width = aspect_size(resolution, aspect)
        self.mapping = MappingNetwork(latent_dim, w_dim, num_classes, mapping_layers)
        self.synthesis = SynthesisNetwork(w_dim, channels, resolution, channel_base, channel_max)
        self.num_ws = self.synthesis.num_ws

    # -- the pieces -------------------------------------------------------------------------------------------

    def _labels(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if labels is None:  # cycle through the classes, as the other conditional generators do
            return torch.arange(z.shape[0], device=z.device) % self.num_classes
        return labels.to(z.device).long()

    def map(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z -> ws, N x num_ws x w_dim (the same w for every layer)."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim}, got {tuple(z.shape)}")
        w = self.mapping(z, self._labels(z, labels))
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def truncate_styles(self, ws: torch.Tensor, psi: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
        """The truncation trick in W (Karras et al. 2019, section 4 / appendix B): w' = w_avg + psi (w - w_avg), on
        the layers l < cutoff (per image: psi N floats, cutoff N integers)."""
        layer = torch.arange(self.num_ws, device=ws.device)[None, :]  # 1 x L
        inside = (layer < cutoff[:, None]).unsqueeze(-1)  # N x L x 1
        w_avg = self.mapping.w_avg[None, None, :]
        return torch.where(inside, w_avg + psi[:, None, None].to(ws.dtype) * (ws - w_avg), ws)

    def mix_styles(self, ws: torch.Tensor, other: torch.Tensor, mix_from: torch.Tensor) -> torch.Tensor:
        """Style mixing (Karras et al. 2019, section 3.1): layers l >= mix_from take `other`'s styles (per image)."""
        layer = torch.arange(self.num_ws, device=ws.device)[None, :]
        return torch.where((layer >= mix_from[:, None]).unsqueeze(-1), other, ws)

    def crop(self, images: torch.Tensor) -> torch.Tensor:
        """N x C x R x R -> N x C x height x width: the window a non-square model draws into (a static slice, so the
        exported graphs crop the same way); the square itself for 1:1."""
        if (self.height, self.width) == (self.resolution, self.resolution):
            return images
        rows, columns = window(self.resolution, self.height, self.width)
        return images[:, :, rows, columns]

    def styled(self, z: torch.Tensor, labels: torch.Tensor | None, psi: torch.Tensor, cutoff: torch.Tensor,
               mix_z: torch.Tensor, mix_from: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """Everything as tensors, no branches and no random ops: what the exported main graph computes."""
        ws = self.truncate_styles(self.map(z, labels), psi, cutoff)
        other = self.truncate_styles(self.map(mix_z, labels), psi, cutoff)
        return self.crop(to_unit(self.synthesis(self.mix_styles(ws, other, mix_from), noise)))

    # -- the generator contract and its capabilities ------------------------------------------------------------

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """N x C x R x R in [0, 1] from z (N x latent_dim) or from styles (N x num_ws x w_dim), fixed noise."""
        ws = z if z.dim() == 3 else self.map(z, labels)
        return self.crop(to_unit(self.synthesis(ws, "const")))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(z, labels)

    def generate_styles(self, z: torch.Tensor, labels: torch.Tensor | None = None, *, truncation: Any = 1.0,
                        truncation_cutoff: Any = None, mix_z: torch.Tensor | None = None, mix_from: Any = None,
                        noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Images with truncation in W (toward w_avg, on layers below truncation_cutoff; None: all) and styles
        from `mix_z` on layers >= mix_from. Scalars or N-tensors; fixed noise unless `noise` is given."""
        count, device = z.shape[0], z.device
        psi = _per_image(truncation, count, torch.float32, device)
        cutoff = _per_image(self.num_ws if truncation_cutoff is None else truncation_cutoff, count, torch.int64,
                            device)
        ws = self.map(z, labels)
        if not bool((psi == 1).all()):
            ws = self.truncate_styles(ws, psi, cutoff)
        if mix_z is not None and mix_from is not None:
            mix_at = _per_image(mix_from, count, torch.int64, device)
            if bool(((mix_at < 1) | (mix_at >= self.num_ws)).any()):
                raise ValueError(f"mix_from must be a style layer from 1 to {self.num_ws - 1}, got {mix_from}")
            other = self.map(mix_z.to(device), labels)
            if not bool((psi == 1).all()):
                other = self.truncate_styles(other, psi, cutoff)
            ws = self.mix_styles(ws, other, mix_at)
        return self.crop(to_unit(self.synthesis(ws, "const" if noise is None else noise)))

    def truncate(self, z: torch.Tensor, psi: float) -> torch.Tensor:
        """Own truncation: z -> its styles truncated toward w_avg (N x num_ws x w_dim), which `generate` takes.
        An unconditional model's only (a class is needed to map z): generation uses `generate_styles`."""
        if self.num_classes:
            raise ValueError("a conditional StyleGAN2 maps z with its class: truncate through generate_styles")
        ws = self.map(z)
        return self.truncate_styles(ws, _per_image(psi, len(z), torch.float32, z.device),
                                    _per_image(self.num_ws, len(z), torch.int64, z.device))

    def noise_inputs(self, count: int) -> dict[str, torch.Tensor]:
        """The fixed noise of every synthesis layer, count x 1 x r x r, named as the exported graphs' inputs."""
        return {f"noise{i}": layer.noise_const.expand(count, -1, -1, -1)
                for i, layer in enumerate(self.synthesis.noise_layers)}

    def export_graphs(self) -> list[Any]:
        from genstudio_stylegan2.graphs import export_graphs

        return export_graphs(self)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Synthesis output (about [-1, 1]) -> [0, 1], clamped."""
    return ((images + 1) / 2).clamp(0, 1)


def _per_image(value: Any, count: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A scalar or N values as an N-tensor."""
    tensor = torch.as_tensor(value, dtype=dtype, device=device)
    return tensor.expand(count) if tensor.dim() == 0 else tensor.reshape(count)


class DiscriminatorBlock(nn.Module):
    """Residual block (Karras et al. 2020a, figure 7c): (conv3x3 -> conv3x3 down) + (down -> 1x1), each / sqrt(2)."""

    def __init__(self, inputs: int, outputs: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(inputs, inputs, 3)
        self.conv1 = EqualizedConv2d(inputs, outputs, 3, down=True, gain=math.sqrt(0.5))
        self.skip = EqualizedConv2d(inputs, outputs, 1, bias=False, activation=False, down=True,
                                    gain=math.sqrt(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.conv1(self.conv0(x))


class StyleDiscriminator(nn.Module):
    """D(images in [-1, 1], labels) -> N logits."""

    def __init__(self, channels: int = 3, resolution: int = 32, channel_base: int = 8192, channel_max: int = 256,
                 num_classes: int = 0, mbstd_group: int = 4):
        super().__init__()
        sizes = [4 * 2**b for b in range(block_count(resolution))][::-1]  # R, R/2, ..., 4
        self.from_rgb = EqualizedConv2d(channels, width(resolution, channel_base, channel_max), 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(width(size, channel_base, channel_max),
                                                       width(size // 2, channel_base, channel_max))
                                    for size in sizes[:-1])
        last = width(4, channel_base, channel_max)
        self.mbstd = MinibatchStdGroup(mbstd_group)
        self.conv = EqualizedConv2d(last + 1, last, 3)  # last x 4 x 4
        self.fc = EqualizedLinear(last * 16, last, activation=True)
        self.num_classes = num_classes
        self.out = EqualizedLinear(last, last if num_classes else 1)
        self.embed = EqualizedLinear(num_classes, last) if num_classes else None  # projection (Miyato 2018)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.from_rgb(x)
        for block in self.blocks:
            h = block(h)
        h = self.conv(self.mbstd(h))
        h = self.out(self.fc(h.flatten(1)))
        if self.embed is None:
            return h.view(-1)  # N
        cmap = normalize_2nd_moment(self.embed.lookup(labels.long()))
        return (h * cmap).sum(dim=1) / math.sqrt(cmap.shape[1])
