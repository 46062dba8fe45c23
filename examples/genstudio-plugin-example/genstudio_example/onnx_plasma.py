"""The plasma-onnx backend's implementation: ONNX-only, so this module imports no torch (and nothing heavy).

The generator's graph (plasma.onnx, package data, checked by its sha256) takes `z`, N x latent size, and gives
N x 3 x 64 x 64 images in [0, 1]: genstudio draws the latents (the same per seed and index as for every generator),
runs the graph on onnxruntime and writes the images. All this object says is which graph runs for a config.
"""

from __future__ import annotations

from typing import Any


class PlasmaOnnx:
    """`Capabilities(runtime="onnx")`: the loader names this; genstudio calls `onnx_graph(config)`."""

    @staticmethod
    def onnx_graph(config: dict[str, Any]) -> str:
        """The name of the WeightsRef whose graph runs for this (validated) config: there is only one."""
        return "plasma-onnx"
