"""The tinystyle backend's implementation: ONNX-only, so this module imports no torch (and nothing heavy).

genstudio finds the graph the backend declares (`WeightsRef` in `Capabilities.pretrained_weights`: shipped as
package data, checked by its sha256), opens it with onnxruntime and feeds it the content images and the weights of
the chosen style(s) (the declared `style` choice input). All this object says is which graph runs for a config.
"""

from __future__ import annotations

from typing import Any


class TinyStyle:
    """`Capabilities(runtime="onnx")`: the loader names this; genstudio calls `onnx_graph(config)`."""

    @staticmethod
    def onnx_graph(config: dict[str, Any]) -> str:
        """The name of the WeightsRef whose graph runs for this (validated) config: there is only one."""
        return "tinystyle"
