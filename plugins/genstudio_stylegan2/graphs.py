"""The ONNX export recipe (`export_recipe`): three graphs, none with a random op.

    model.onnx            z, [labels,] psi, truncation_cutoff, mix_z, mix_from, noise0..noiseK -> images
    model.mapping.onnx    z, [labels,] psi, truncation_cutoff -> ws (N x num_ws x w_dim, truncated)
    model.synthesis.onnx  ws, noise0..noiseK -> images

psi is N floats (1: no truncation), truncation_cutoff and mix_from N integers (num_ws: every layer truncated /
none mixed), mix_z N x latent_dim, noise_i N x 1 x r x r (the model's fixed noise is `noise_inputs(N)`); images
N x C x H x W in [0, 1] (R x R, or a non-square aspect's centred window: a static slice). The main graph is
StyleGenerator.styled, so `genstudio generate --runtime onnx` truncates and mixes exactly as PyTorch does.
"""

from __future__ import annotations

import torch
from torch import nn

from genstudio.export import ExportGraph, GraphInput
from genstudio_stylegan2.networks import StyleGenerator, to_unit

IMAGES = {"images": {0: "batch"}}


class _Styled(nn.Module):
    def __init__(self, generator: StyleGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        z, rest = inputs[0], list(inputs[1:])
        labels = rest.pop(0) if self.generator.num_classes else None
        psi, cutoff, mix_z, mix_from, *noise = rest
        return self.generator.styled(z, labels, psi, cutoff, mix_z, mix_from, noise)


class _Mapping(nn.Module):
    def __init__(self, generator: StyleGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        z, rest = inputs[0], list(inputs[1:])
        labels = rest.pop(0) if self.generator.num_classes else None
        psi, cutoff = rest
        return self.generator.truncate_styles(self.generator.map(z, labels), psi, cutoff)


class _Synthesis(nn.Module):
    def __init__(self, generator: StyleGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, ws: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        return self.generator.crop(to_unit(self.generator.synthesis(ws, list(noise))))


def export_graphs(generator: StyleGenerator) -> list[ExportGraph]:
    g = generator
    z = GraphInput("z", ("batch", g.latent_dim))
    labels = [GraphInput("labels", ("batch",), "int64", high=g.num_classes)] if g.num_classes else []
    truncation = [GraphInput("psi", ("batch",)), GraphInput("truncation_cutoff", ("batch",), "int64",
                                                               high=g.num_ws + 1)]
    mixing = [GraphInput("mix_z", ("batch", g.latent_dim)),
              GraphInput("mix_from", ("batch",), "int64", high=g.num_ws + 1)]
    noise = [GraphInput(name, ("batch", 1, value.shape[-2], value.shape[-1]))
             for name, value in g.noise_inputs(1).items()]
    ws = GraphInput("ws", ("batch", g.num_ws, g.w_dim))
    return [
        ExportGraph("model", _Styled(g), [z, *labels, *truncation, *mixing, *noise], ["images"], IMAGES),
        ExportGraph("mapping", _Mapping(g), [z, *labels, *truncation], ["ws"], {"ws": {0: "batch"}}),
        ExportGraph("synthesis", _Synthesis(g), [ws, *noise], ["images"], IMAGES),
    ]
