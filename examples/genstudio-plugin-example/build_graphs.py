"""Build step of the example plugin: writes the ONNX graphs its `tinystyle` and `plasma-onnx` backends ship as
package data.

    python build_graphs.py          # writes genstudio_example/graphs/*.onnx and prints their sha256

A real plugin exports a trained network here (`torch.onnx.export`, or the graph its authors publish). This one
builds a small fixed network with `onnx.helper` and numpy, so it needs no download, no training and no torch,
and writes the same bytes every time (fixed seed, fixed IR version and producer): the sha256 in
`genstudio_example/__init__.py` is what genstudio checks before it runs the file.

The network (N x 3 x H x W content in [0, 1], a weight per style -> N x 3 x H x W in [0, 1]):

    content -> conv 3x3, 3 -> 8, ReLU                      # N x 8 x H x W features
            -> x (style weights @ scales) + (style weights @ shifts)   # conditional instance-norm-like
               (Dumoulin, Shlens & Kudlur 2017, "A learned representation for artistic style": one scale and
               shift per channel and style; a blend of styles mixes them)
            -> conv 3x3, 8 -> 3, + 4 * (content - 0.5) + the style's colour cast, sigmoid
                                                     # N x 3 x H x W: the content still shows

`plasma-onnx` is the `plasma` generator (genstudio_example/plasma.py) as a graph, with its default settings
(64 px, 4 octaves, the fire ramp): a generator's graph takes `z` (N x latent size) and gives N x C x H x W images in
[0, 1]. Each octave's grid is a slice of z, resized with bilinear align-corners interpolation (the ONNX Resize
op); the colour ramp is a 1x1 convolution of "hat" weights relu(1 - |4t - k|), which is linear interpolation
between the ramp's five stops.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

STYLES = ("ember", "glacier", "moss", "dusk")
FEATURES = 8
OPSET = 17
IR_VERSION = 8  # fixed, so the bytes do not change with the installed onnx version
GRAPHS = Path(__file__).resolve().parent / "genstudio_example" / "graphs"
TARGET = GRAPHS / "tinystyle.onnx"
PLASMA_TARGET = GRAPHS / "plasma.onnx"
PLASMA_RESOLUTION, PLASMA_OCTAVES, PLASMA_CONTRAST = 64, 4, 1.5  # plasma.py's defaults and CONTRAST
FIRE = ((0.0, 0.0, 0.0), (0.55, 0.05, 0.0), (0.95, 0.4, 0.0), (1.0, 0.8, 0.2), (1.0, 1.0, 0.9))  # plasma's ramp

# Per style: a colour cast the output leans toward (R, G, B), from which its scales and shifts are drawn.
CASTS = {"ember": (1.0, 0.35, 0.05), "glacier": (0.2, 0.55, 1.0), "moss": (0.25, 0.8, 0.2), "dusk": (0.7, 0.3, 0.8)}


def weights(seed: int = 0) -> dict[str, np.ndarray]:
    """The network's tensors: seeded, so every build gives the same graph."""
    rng = np.random.default_rng(seed)
    conv1 = rng.normal(0, 0.3, (FEATURES, 3, 3, 3)).astype(np.float32)
    conv2 = rng.normal(0, 0.15, (3, FEATURES, 3, 3)).astype(np.float32)
    casts = np.array([CASTS[name] for name in STYLES], np.float32)  # styles x 3
    scales = (1.0 + rng.normal(0, 0.4, (len(STYLES), FEATURES))).astype(np.float32)
    shifts = (casts @ rng.normal(0, 0.5, (3, FEATURES))).astype(np.float32)  # styles x features
    colours = (2.5 * (casts - 0.5)).astype(np.float32)  # styles x 3: the cast, added to the output's logits
    return {"conv1.weight": conv1, "conv1.bias": np.zeros(FEATURES, np.float32), "conv2.weight": conv2,
            "conv2.bias": np.zeros(3, np.float32), "style.scales": scales, "style.shifts": shifts,
            "style.colours": colours}


def _model(graph):
    """A checked ModelProto of `graph` with the fixed opset, IR version and producer (so the bytes never vary)."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="genstudio-plugin-example", producer_version="1")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def build():
    """The graph as an onnx ModelProto: inputs `content` (N x 3 x H x W) and `style` (one weight per style)."""
    from onnx import TensorProto, helper, numpy_helper

    tensors = weights()
    initializers = [numpy_helper.from_array(value, name) for name, value in tensors.items()]
    initializers += [numpy_helper.from_array(np.array([1, FEATURES, 1, 1], np.int64), "per_channel"),
                     numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "per_colour"),
                     numpy_helper.from_array(np.array([4.0], np.float32), "content_gain"),
                     numpy_helper.from_array(np.array([0.5], np.float32), "half")]
    nodes = [
        helper.make_node("Conv", ["content", "conv1.weight", "conv1.bias"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["features"]),
        helper.make_node("Unsqueeze", ["style", "zero_axis"], ["style_row"]),  # 1 x styles
        helper.make_node("MatMul", ["style_row", "style.scales"], ["scale_row"]),  # 1 x features
        helper.make_node("MatMul", ["style_row", "style.shifts"], ["shift_row"]),
        helper.make_node("Reshape", ["scale_row", "per_channel"], ["scale"]),  # 1 x features x 1 x 1
        helper.make_node("Reshape", ["shift_row", "per_channel"], ["shift"]),
        helper.make_node("Mul", ["features", "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "shift"], ["styled_features"]),
        helper.make_node("Conv", ["styled_features", "conv2.weight", "conv2.bias"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Sub", ["content", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "content_gain"], ["skip"]),
        helper.make_node("MatMul", ["style_row", "style.colours"], ["colour_row"]),  # 1 x 3
        helper.make_node("Reshape", ["colour_row", "per_colour"], ["colour"]),
        helper.make_node("Add", ["c2", "skip"], ["mixed"]),
        helper.make_node("Add", ["mixed", "colour"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["image"]),
    ]
    initializers.append(numpy_helper.from_array(np.array([0], np.int64), "zero_axis"))
    graph = helper.make_graph(
        nodes, "tinystyle",
        [helper.make_tensor_value_info("content", TensorProto.FLOAT, ["batch", 3, "height", "width"]),
         helper.make_tensor_value_info("style", TensorProto.FLOAT, [len(STYLES)])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        initializers)
    return _model(graph)


def build_plasma():
    """The plasma generator as an onnx ModelProto: input `z` (N x latent size), output `images` (N x 3 x R x R)."""
    import math

    from onnx import TensorProto, helper, numpy_helper

    size = PLASMA_RESOLUTION
    points = [2**k + 1 for k in range(PLASMA_OCTAVES)]
    latent_dim = sum(p * p for p in points)
    spread = math.sqrt(sum(0.25**k for k in range(PLASMA_OCTAVES)))
    constant = {"axis1": np.array([1], np.int64),  # also the end of the batch dimension in a shape
                "gain": np.array([PLASMA_CONTRAST / (spread * math.sqrt(2))], np.float32),
                "half": np.array([0.5], np.float32), "one": np.array([1.0], np.float32),
                "stops": np.arange(len(FIRE), dtype=np.float32).reshape(1, len(FIRE), 1, 1),
                "last_stop": np.array([len(FIRE) - 1], np.float32),
                "ramp": np.array(FIRE, np.float32).T.reshape(3, len(FIRE), 1, 1).copy()}
    nodes, terms, start = [], [], 0
    nodes.append(helper.make_node("Shape", ["z"], ["z_shape"]))
    nodes.append(helper.make_node("Slice", ["z_shape", "zero_axis", "axis1"], ["batch"]))
    for octave, p in enumerate(points):
        constant[f"start{octave}"] = np.array([start], np.int64)
        constant[f"end{octave}"] = np.array([start + p * p], np.int64)
        constant[f"grid{octave}"] = np.array([1, p, p], np.int64)
        constant[f"amp{octave}"] = np.array([0.5**octave], np.float32)
        start += p * p
        nodes += [
            helper.make_node("Slice", ["z", f"start{octave}", f"end{octave}", "axis1"], [f"part{octave}"]),
            helper.make_node("Concat", ["batch", f"grid{octave}"], [f"shape{octave}"], axis=0),
            helper.make_node("Reshape", [f"part{octave}", f"shape{octave}"], [f"lattice{octave}"]),  # N x 1 x p x p
            helper.make_node("Shape", [f"lattice{octave}"], [f"lattice_shape{octave}"]),
            helper.make_node("Slice", [f"lattice_shape{octave}", "zero_axis", "two"], [f"nc{octave}"]),
            helper.make_node("Concat", [f"nc{octave}", "size_hw"], [f"sizes{octave}"], axis=0),
            helper.make_node("Resize", [f"lattice{octave}", "", "", f"sizes{octave}"], [f"smooth{octave}"],
                             mode="linear", coordinate_transformation_mode="align_corners"),
            helper.make_node("Mul", [f"smooth{octave}", f"amp{octave}"], [f"term{octave}"]),
        ]
        terms.append(f"term{octave}")
    constant["two"] = np.array([2], np.int64)
    constant["size_hw"] = np.array([size, size], np.int64)
    constant["zero_axis"] = np.array([0], np.int64)
    nodes += [
        helper.make_node("Sum", terms, ["noise"]),  # N x 1 x R x R
        helper.make_node("Mul", ["noise", "gain"], ["scaled"]),
        helper.make_node("Erf", ["scaled"], ["erf"]),
        helper.make_node("Add", ["erf", "one"], ["erf1"]),
        helper.make_node("Mul", ["erf1", "half"], ["t"]),  # the normal CDF, in (0, 1)
        helper.make_node("Mul", ["t", "last_stop"], ["position"]),
        helper.make_node("Sub", ["position", "stops"], ["offset"]),  # N x 5 x R x R
        helper.make_node("Abs", ["offset"], ["distance"]),
        helper.make_node("Sub", ["one", "distance"], ["hat_raw"]),
        helper.make_node("Relu", ["hat_raw"], ["hats"]),  # linear-interpolation weights of the stops
        helper.make_node("Conv", ["hats", "ramp"], ["images"]),  # N x 3 x R x R
    ]
    initializers = [numpy_helper.from_array(value, name) for name, value in constant.items()]
    graph = helper.make_graph(
        nodes, "plasma",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent_dim])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, size, size])],
        initializers)
    return _model(graph)


def write(target: Path = TARGET, model=None) -> str:
    """Write a graph (default: tinystyle's) to `target`; returns its sha256."""
    data = (model if model is not None else build()).SerializeToString(deterministic=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else GRAPHS
    for name, model in (("tinystyle.onnx", build()), ("plasma.onnx", build_plasma())):
        print(f"{folder / name}: sha256 {write(folder / name, model)}")
