"""CycleGAN's ONNX recipe: one graph, `model.onnx`, with inputs `content` (N x 3 x H x W in [0, 1], any size) and
`direction` (one int64: 0 = a2b, 1 = b2a, the index of the declared choice, as genstudio's runtime feeds it).

The two generators share one layout, so the graph holds each weight of both stacked (2 x ...) and gathers the
direction's half before each convolution: only the chosen generator runs, at the cost of one Gather per layer.
Instance norm has no running statistics, so the graph is the same in training and inference mode.
"""

from __future__ import annotations

import torch
from torch import nn

from genstudio.export import ExportGraph, GraphInput
from genstudio_cyclegan.networks import CycleGAN, ResidualBlock, pad_to_multiple

CHECK_SIDE = 30  # parity is checked at 30 x 30: not a multiple of 4, so the padding runs in the check


class DirectionalGenerator(nn.Module):
    """forward(content, direction) = model.translate(content, ("a2b", "b2a")[direction[0]])."""

    def __init__(self, model: CycleGAN):
        super().__init__()
        self.template = model.g_ab
        named_b = dict(model.g_ba.named_parameters())
        for index, (name, param_a) in enumerate(model.g_ab.named_parameters()):
            self.register_buffer(f"stacked_{index}", torch.stack([param_a.detach(), named_b[name].detach()]))

        self.index = {id(param): index for index, (_, param) in enumerate(model.g_ab.named_parameters())}

    def forward(self, content: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        which = direction.reshape(-1)[0]

        def pick(param: torch.Tensor | None) -> torch.Tensor | None:
            return None if param is None else getattr(self, f"stacked_{self.index[id(param)]}")[which]

        height, width = content.shape[-2], content.shape[-1]
        out = _run(self.template.model, pad_to_multiple(content * 2 - 1), pick)
        return (out[..., :height, :width] + 1) / 2


def _run(module: nn.Module, x: torch.Tensor, pick) -> torch.Tensor:
    """`module(x)` with every convolution's weight and bias replaced by `pick(parameter)`."""
    functional = nn.functional
    if isinstance(module, nn.Sequential):
        for layer in module:
            x = _run(layer, x, pick)
        return x
    if isinstance(module, ResidualBlock):
        return x + _run(module.body, x, pick)
    if isinstance(module, nn.ConvTranspose2d):
        return functional.conv_transpose2d(x, pick(module.weight), pick(module.bias), module.stride,
                                           module.padding, module.output_padding, module.groups, module.dilation)
    if isinstance(module, nn.Conv2d):
        return functional.conv2d(x, pick(module.weight), pick(module.bias), module.stride, module.padding,
                                 module.dilation, module.groups)
    if any(True for _ in module.parameters()):
        raise TypeError(f"the export recipe has no rule for {type(module).__name__}, which has weights")
    return module(x)


def graphs(model: CycleGAN) -> list[ExportGraph]:
    content = GraphInput("content", ("batch", 3, "height", "width"), sample="unit", size=CHECK_SIDE)
    direction = GraphInput("direction", (1,), "int64", high=2)
    return [ExportGraph("model", DirectionalGenerator(model), [content, direction], ["images"],
                        {"images": {0: "batch", 2: "height", 3: "width"}})]
