"""The restorer's networks: a U-Net of gated convolutions and the PatchGAN discriminator.

Gated convolution (Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution", eq. 1): one convolution
gives features and a gate, out = LeakyReLU(features) * sigmoid(gate), so each layer learns per pixel and channel
how far to trust what it sees (a hole, a valid pixel, noise): the learnt form of partial convolution's mask update.

U-Net (Ronneberger et al. 2015) at H x W, width w, `levels` levels (4 standard, 3 lite):

    [coarse fill 3 | mask 1 | task one-hot T] x H x W -> gated conv5 -> w x H
    -> (gated conv3/2, gated conv3) per level -> (w * 2^l) x H/2^l, l = 1 .. levels - 1 (width capped at 8 w)
    -> two dilated gated conv3 (dilation 2, 4; Iizuka et al. 2017) at the bottom
    -> per level: nearest 2x up, concatenate the skip, two gated conv3 -> back to w x H
    -> conv3 -> 3 x H x W, added to the coarse fill (residual learning, Kim et al. 2016)

The coarse fill is the input with its holes filled by pull-push interpolation (Gortler et al. 1996, "The
Lumigraph", section 3.3: a pyramid of weighted averages pulled down to where every pixel is known, pushed back up
where the finer level does not know enough), a smooth fill about as good as Telea's (2004) inside the holes at
no training. The network learns what to add to it, and starts as that fill (its last layer is zero); for the
tasks without a mask the coarse fill is the input itself, so upscaling starts as bicubic (the input is already
enlarged) and denoising as the identity. For inpainting the result inside the mask is the network's and outside
it the input comes back unchanged; for the other tasks the whole image is the network's. Sides that do not divide
by 2^(levels - 1) are padded (edges repeated) and the output cropped back; the pad amounts are computed from the
traced shape, so an exported graph does the same at every size. Only convolutions, nearest up-sampling, sigmoid,
concatenation, padding, average pooling and bilinear up-sampling: nothing (no FFT) that ONNX cannot express.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from genstudio.errors import UserError
from genstudio_restore import TASKS

MAX_WIDTH_FACTOR = 8
PULL_PUSH_LEVELS = 12  # halvings of the pull-push pyramid: holes up to about 2^12 px across are filled


def pull_push(content: torch.Tensor, hole: torch.Tensor, levels: int = PULL_PUSH_LEVELS) -> torch.Tensor:
    """N x C x H x W with its holes (N x 1 x H x W, 1 = unknown) filled by pull-push (Gortler et al. 1996, 3.3):
    pull: each level's colour is the weight-averaged colour of the 2 x 2 pixels below it and its weight the
    sum of theirs, capped at 1; push: from the coarsest level up, a pixel keeps its own colour by its weight and
    takes the rest from the (bilinearly) enlarged coarser fill. Known pixels come back unchanged."""
    weight = 1 - hole
    colour = content
    pyramid = []
    for _ in range(levels):
        height, width = colour.shape[-2], colour.shape[-1]
        pyramid.append((colour, weight, height, width))
        pad = (0, _pad_amount(width, 2), 0, _pad_amount(height, 2))  # odd sides: a zero-weight edge
        total = 4 * F.avg_pool2d(F.pad(weight, pad), 2)  # N x 1 x H/2 x W/2
        colour = 4 * F.avg_pool2d(F.pad(colour * weight, pad), 2) / total.clamp_min(1e-8)
        weight = total.clamp(0, 1)
    fill = colour
    for colour, weight, height, width in reversed(pyramid):
        enlarged = F.interpolate(fill, scale_factor=2.0, mode="bilinear", align_corners=False)
        fill = weight * colour + (1 - weight) * enlarged[..., :height, :width]
    return content * (1 - hole) + fill * hole


class GatedConv(nn.Module):
    """out = LeakyReLU(0.2)(f) * sigmoid(g), [f, g] = conv(x) (Yu et al. 2019, eq. 1)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride, padding=dilation * (kernel // 2), dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gate = self.conv(x).chunk(2, dim=1)
        return F.leaky_relu(features, 0.2) * torch.sigmoid(gate)


def _pad_amount(side, multiple: int):
    """How much to add to `side` (an int, or a traced size) to reach a multiple of `multiple`."""
    if isinstance(side, int):
        return (-side) % multiple
    return torch.div(side + multiple - 1, multiple, rounding_mode="floor") * multiple - side


class RestoreUNet(nn.Module):
    """[coarse fill | mask | task planes] -> the residual to add to the coarse fill, same size."""

    def __init__(self, width: int, levels: int, tasks: int = len(TASKS)):
        super().__init__()
        widths = [width * min(2 ** level, MAX_WIDTH_FACTOR) for level in range(levels)]
        self.multiple = 2 ** (levels - 1)
        self.stem = GatedConv(3 + 1 + tasks, widths[0], 5)  # w x H
        self.down = nn.ModuleList(
            nn.Sequential(GatedConv(widths[i - 1], widths[i], 3, stride=2), GatedConv(widths[i], widths[i]))
            for i in range(1, levels))  # (w * 2^l) x H / 2^l
        self.middle = nn.Sequential(GatedConv(widths[-1], widths[-1], dilation=2),
                                    GatedConv(widths[-1], widths[-1], dilation=4))
        self.up = nn.ModuleList(
            nn.Sequential(GatedConv(widths[i] + widths[i - 1], widths[i - 1]), GatedConv(widths[i - 1], widths[i - 1]))
            for i in range(levels - 1, 0, -1))  # back up to w x H
        self.head = nn.Conv2d(widths[0], 3, 3, padding=1)  # 3 x H x W
        nn.init.zeros_(self.head.weight)  # starts as the identity: the residual is 0
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        pad_h, pad_w = _pad_amount(height, self.multiple), _pad_amount(width, self.multiple)
        if not (isinstance(pad_h, int) and isinstance(pad_w, int) and pad_h == 0 and pad_w == 0):
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = [self.stem(x)]
        for stage in self.down:
            skips.append(stage(skips[-1]))
        h = self.middle(skips.pop())
        for stage in self.up:
            skip = skips.pop()
            h = stage(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip], dim=1))
        return self.head(h)[..., :height, :width]


class Restorer(nn.Module):
    """The saved model. genstudio's restorer contract: restore(x, mask, task) on images in [0, 1]."""

    def __init__(self, width: int, levels: int, tasks: tuple[str, ...]):
        super().__init__()
        self.net = RestoreUNet(width, levels)
        self.tasks = tuple(tasks)  # what it learnt; the graph takes every task's index
        self.register_buffer("task_eye", torch.eye(len(TASKS)), persistent=False)

    def forward(self, content: torch.Tensor, mask: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        """content N x 3 x H x W, mask N x 1 x H x W (1 = hole), task int64 [1] or [N] (indexes into TASKS) ->
        N x 3 x H x W, not clipped (training's losses see the raw values)."""
        coarse = pull_push(content * (1 - mask), mask)  # the holes filled smoothly; the rest is the input
        onehot = self.task_eye[task.reshape(-1)].reshape(-1, len(TASKS), 1, 1)  # 1 (or N) x T x 1 x 1
        planes = onehot * torch.ones_like(mask)  # N x T x H x W
        predicted = coarse + self.net(torch.cat([coarse, mask, planes], dim=1))
        keep = (1 - mask) * onehot[:, :1]  # inpaint (index 0) keeps the picture outside the hole; others redo all
        return keep * content + (1 - keep) * predicted

    def task_index(self, task: str | None) -> torch.Tensor:
        name = task or self.tasks[0]
        if name not in self.tasks:
            raise UserError(f"this model did not learn --task {name} (it learnt {', '.join(self.tasks)})")
        return torch.tensor([TASKS.index(name)], device=self.task_eye.device)

    def restore(self, x: torch.Tensor, mask: torch.Tensor | None = None, task: str | None = None) -> torch.Tensor:
        """N x 3 x H x W in [0, 1] (already enlarged for upscale) -> the restored images, same size, in [0, 1]."""
        hole = mask if mask is not None else torch.zeros_like(x[:, :1])
        return self(x, hole, self.task_index(task)).clamp(0, 1)

    def export_graphs(self) -> list:
        from genstudio.export import ExportGraph, GraphInput

        content = GraphInput("content", ("batch", 3, "height", "width"), sample="unit", size=30)
        mask = GraphInput("mask", ("batch", 1, "height", "width"), sample="unit", size=30)
        task = GraphInput("task", (1,), "int64", high=len(TASKS))
        return [ExportGraph("model", _Clipped(self), [content, mask, task], ["images"],
                            {"images": {0: "batch", 2: "height", 3: "width"}})]


class _Clipped(nn.Module):
    def __init__(self, model: Restorer):
        super().__init__()
        self.model = model

    def forward(self, content: torch.Tensor, mask: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        return self.model(content, mask, task).clamp(0, 1)


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): images in [-1, 1] -> N x 1 x h x w logits, one per overlapping patch. Spectral
    norm (Miyato et al. 2018) instead of instance norm, so it works on small crops and small batches."""

    def __init__(self, ndf: int = 32, layers: int = 2):
        super().__init__()
        sn = nn.utils.spectral_norm
        seq: list[nn.Module] = [sn(nn.Conv2d(3, ndf, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, True)]
        width = ndf
        for index in range(1, layers + 1):  # ndf -> 2 ndf -> ... (stride 2, the last stride 1)
            out = ndf * min(2 ** index, 8)
            seq += [sn(nn.Conv2d(width, out, 4, stride=2 if index < layers else 1, padding=1)),
                    nn.LeakyReLU(0.2, True)]
            width = out
        seq += [sn(nn.Conv2d(width, 1, 4, stride=1, padding=1))]
        self.model = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
