"""User feature networks from a file: ONNX (`.onnx`) or TorchScript (`.pt`, `.ts`).

Both take N x C x H x W float images in [0, 1] and return one feature vector per image (outputs of any shape are
flattened per image). ONNX is the safe choice: an ONNX file is a graph of standard operators and runs in
onnxruntime without executing code from the file. A TorchScript file carries code that runs when it is loaded
and called, so only load TorchScript files you trust.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from genstudio.errors import UserError
from genstudio.metrics.preprocess import check_images, match_channels, resize_float

ONNX_SUFFIXES = (".onnx",)
TORCHSCRIPT_SUFFIXES = (".pt", ".ts")


def _static(dim: object) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None  # onnxruntime gives names or None for dynamic axes


class OnnxFeatures:
    """An ONNX network run with onnxruntime on the CPU. Channels and size follow the model's declared input."""

    def __init__(
        self,
        path: Path,
        input_size: int | None = None,  # square size used when the model's input size is dynamic
    ):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise UserError(f"reading {path} needs onnxruntime (pip install onnxruntime)") from exc
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise UserError(f"feature network {path} is not a readable ONNX model ({type(exc).__name__})") from exc
        inp = self.session.get_inputs()[0]
        if len(inp.shape) != 4 or inp.type != "tensor(float)":
            raise UserError(f"feature network {path} must take one N x C x H x W float input, has {inp.shape} "
                            f"{inp.type}")
        self.input_name = inp.name
        self.channels = _static(inp.shape[1])  # None: images go in with their own channels
        height, width = _static(inp.shape[2]), _static(inp.shape[3])
        fallback = (input_size, input_size) if input_size else None  # None: images go in at their own size
        self.size = (height, width) if height and width else fallback
        out_dims = [_static(d) for d in self.session.get_outputs()[0].shape[1:]]
        self.dim = int(torch.tensor(out_dims).prod()) if all(out_dims) else None
        self.name = f"onnx:{path.name}"

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = resize_float(match_channels(check_images(images), self.channels), self.size)
        out = self.session.run(None, {self.input_name: x.contiguous().numpy()})[0]
        features = torch.from_numpy(out).reshape(x.shape[0], -1).float()
        self.dim = features.shape[1]
        return features


class TorchScriptFeatures:
    """A TorchScript module on the CPU. It runs code embedded in the file: load only files you trust."""

    def __init__(
        self,
        path: Path,
        input_size: int | None = None,  # resize images to this square size first; None: their own size
        channels: int | None = 3,  # channels the network takes (grayscale repeated to 3); None: as given
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated upstream, still supported
                self.module = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:  # not a zip, wrong format, missing operators
            raise UserError(f"feature network {path} is not a readable TorchScript file ({type(exc).__name__})"
                            ) from exc
        self.module.eval()
        self.size = (input_size, input_size) if input_size else None
        self.channels = channels
        self.dim: int | None = None  # known after the first call
        self.name = f"torchscript:{path.name}"

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = resize_float(match_channels(check_images(images), self.channels), self.size)
        with torch.no_grad():
            out = self.module(x)
        out = out[0] if isinstance(out, (tuple, list)) else out
        features = out.reshape(x.shape[0], -1).float()
        self.dim = features.shape[1]
        return features


def load_external(path: Path, input_size: int | None = None) -> OnnxFeatures | TorchScriptFeatures:
    """An extractor for a `.onnx`, `.pt` or `.ts` file; UserError for a missing file or another extension."""
    suffix = path.suffix.lower()
    if suffix not in ONNX_SUFFIXES + TORCHSCRIPT_SUFFIXES:
        raise UserError(
            f"unknown feature network {str(path)!r}: use 'inception' or a .onnx, .pt or .ts (TorchScript) file"
        )
    if not path.is_file():
        raise UserError(f"feature network file {path} does not exist")
    if suffix in ONNX_SUFFIXES:
        return OnnxFeatures(path, input_size=input_size)
    return TorchScriptFeatures(path, input_size=input_size)
