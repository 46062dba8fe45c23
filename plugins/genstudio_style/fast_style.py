"""The fast-style stylizer: one trained transformer network (`transformer.TransformerNet`) for one style.

Its state_dict is the network's alone; the style image and the VGG19 it was trained against are recorded in the
model's config and model.json. `export_graphs` is its ONNX recipe for `genstudio export`: the network alone,
with dynamic batch, height and width.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genstudio.errors import UserError
from genstudio_style.images import finish, fit_size, to_batch, to_output
from genstudio_style.transformer import TransformerNet


class FastStylizer(nn.Module):
    """`stylize(content)`: one forward pass of the trained network."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        self.net = TransformerNet(config["size"])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W in [0, 1] -> N x 3 x H x W (unclamped)."""
        return self.net(images)

    def export_graphs(self) -> list:
        """genstudio's export recipe: the network alone (content -> image, any batch and size); strength and
        colour preservation run after it (`postprocess`), as in `stylize`."""
        from genstudio.export import ExportGraph, GraphInput

        content = GraphInput("content", ("batch", 3, "height", "width"), sample="unit", size=64)
        return [ExportGraph("model", self.net, [content], ["image"], {"image": {0: "batch", 2: "height", 3: "width"}})]

    def postprocess(self, content: torch.Tensor, styled: torch.Tensor, *, strength: float,
                    preserve_color: bool) -> torch.Tensor:
        """What `stylize` does after the network, for outputs computed elsewhere (onnxruntime)."""
        return finish(styled, content, strength, preserve_color)

    @torch.no_grad()
    def stylize(
        self,
        content: Any,  # PIL image, C x H x W tensor in [0, 1], or an image path
        style: Any = None,  # must be None: the style is the one the network was trained on
        *,
        strength: float | None = None,  # pixel-space blend with the content; None: the config's
        preserve_color: bool | None = None,  # None: the config's
        max_size: int | None = None,  # longer side of the output; None keeps the content's size
    ) -> Any:
        """The stylised image, the same type as `content` (PIL in, PIL out; tensor in, 3 x H x W tensor out)."""
        if style is not None:
            raise UserError("fast-style is trained for one style and takes no style image; use adain or gatys "
                            "for an arbitrary style")
        strength = self.config["strength"] if strength is None else float(strength)
        preserve = self.config["preserve_color"] if preserve_color is None else bool(preserve_color)
        batch, as_pil = to_batch(content, "content")
        batch = fit_size(batch, max_size).to(next(self.parameters()).device)
        return to_output(finish(self.net(batch), batch, strength, preserve), as_pil)
