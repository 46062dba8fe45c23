"""InceptionV3 pool3 features (2048-d), the network behind FID and KID.

The network is torch-fidelity's `FeatureExtractorInceptionV3`: the TensorFlow FID graph's weights ported to
PyTorch, the same network torchmetrics' FID/KID use, so numbers are comparable with the literature. Its weights
are never downloaded here: `find_inception_weights` looks for the file and raises a one-line UserError saying
where to put it when it is missing.

Preprocessing (option `resize`):
  "pil-bicubic" (default): [0, 1] floats -> uint8 (rounded), then PIL bicubic resize to 299 x 299 (PIL widens
      the filter when downsampling, i.e. antialiased), as clean-fid recommends (Parmar et al. 2022,
      arXiv:2104.11222). The network's own resize is then a no-op.
  "network": uint8 images go in at their own size and the network resizes with its TF1-compatible bilinear
      filter (no antialiasing): torch-fidelity's numbers, and torchmetrics' with antialias=False (torchmetrics'
      own default resizes with torch's antialiased bilinear instead).
At 299 x 299 input all of these give the same features (tested against torchmetrics' NoTrainInceptionV3).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from genstudio.backends import WeightsRef
from genstudio.errors import UserError
from genstudio.metrics.preprocess import check_images, match_channels
from genstudio.weights import find_weights, hub_checkpoint_path  # noqa: F401 (hub_checkpoint_path: kept importable)

INCEPTION_WEIGHTS = WeightsRef(
    name="inception-v3-fid",
    filename="weights-inception-2015-12-05-6726825d.pth",  # torch-fidelity's release file name
    sha256_prefix="6726825d",
    setting="weights.inception",
)
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS.filename
INPUT_SIZE = 299


def find_inception_weights(explicit: str | Path | None = None) -> Path:
    """The weights file: `explicit`, else the setting weights.inception, else the torch hub cache. Never downloads.

    The file is not hash-checked: torch-fidelity does not document the 6726825d in its file name as a sha256
    prefix, and the metrics tests stand random weights in under that name.
    """
    return find_weights(INCEPTION_WEIGHTS, explicit, verify=False, hint=f"download {INCEPTION_URL} there").path


def _safe_state_dict_bytes(path: Path) -> io.BytesIO:
    """Load the file with weights_only=True (no code runs) and re-serialise the plain tensors.

    torch-fidelity's constructor calls torch.load(weights_only=False) on what it is given; handing it our own
    serialisation of a checked dict of tensors means it never unpickles the user's file.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, not a torch file, or a pickle with code in it
        raise UserError(f"InceptionV3 weights {path} are unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"InceptionV3 weights {path} must hold a state dict of tensors")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def build_inception(path: Path, layer: str = "2048") -> torch.nn.Module:
    """torch-fidelity's FID InceptionV3 returning `layer` (pool3, "2048"; or "logits_unbiased", the 1008 class
    scores its Inception Score reads), weights from `path`, eval mode, no grad."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    try:
        weights = _safe_state_dict_bytes(path)
        return FeatureExtractorInceptionV3("inception-v3-compat", [layer], feature_extractor_weights_path=weights)
    except RuntimeError as exc:  # load_state_dict: missing/unexpected keys or wrong shapes
        first = str(exc).splitlines()[0]
        raise UserError(f"InceptionV3 weights {path} do not fit the FID network ({first})") from exc


def pil_resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """N x 3 x H x W uint8 -> N x 3 x size x size uint8 with PIL's bicubic filter, one image at a time."""
    out = []
    for img in images.permute(0, 2, 3, 1).numpy():
        resized = Image.fromarray(img, mode="RGB").resize((size, size), resample=Image.Resampling.BICUBIC)
        out.append(torch.from_numpy(np.asarray(resized).copy()))
    return torch.stack(out).permute(0, 3, 1, 2).contiguous()


class InceptionFeatures:
    """InceptionV3 pool3 features for FID/KID. Raises UserError when the weights file is missing."""

    name = "inception-v3-pool3"
    dim = 2048
    layer = "2048"  # torch-fidelity's name of the output

    def __init__(
        self,
        weights: str | Path | None = None,  # the weights file; None: setting weights.inception, then the hub cache
        resize: Literal["pil-bicubic", "network"] = "pil-bicubic",  # see the module docstring
    ):
        if resize not in ("pil-bicubic", "network"):
            raise UserError(f"unknown inception resize {resize!r}; use 'pil-bicubic' or 'network'")
        self.resize = resize
        self.weights_path = find_inception_weights(weights)
        self.net = build_inception(self.weights_path, self.layer)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = match_channels(check_images(images), 3)
        u8 = (x.clamp(0, 1) * 255).round().to(torch.uint8)  # rounded: x * 255 of a decoded uint8 is k +- eps
        if self.resize == "pil-bicubic" and tuple(u8.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            u8 = pil_resize_uint8(u8, INPUT_SIZE)
        with torch.no_grad():
            return self.net(u8)[0]  # N x 2048 (N x 1008 for the logits)


class InceptionLogits(InceptionFeatures):
    """The same network's class scores before the softmax (torch-fidelity's "logits_unbiased", 1008 classes):
    what its Inception Score reads (Salimans et al. 2016). Same weights file, same preprocessing."""

    name = "inception-v3-logits"
    dim = 1008
    layer = "logits_unbiased"
