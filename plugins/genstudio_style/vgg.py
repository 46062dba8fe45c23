"""A frozen VGG19 feature extractor for the style losses and the AdaIN encoder.

The architecture is torchvision's `vgg19` convolutional stack (Simonyan & Zisserman 2015, configuration E); the
classifier is never built. Weights come from one of two places, chosen by the config field `features`:

  "imagenet": torchvision's ImageNet file `vgg19-dcbb9e9d.pth` (`VGG19_Weights.IMAGENET1K_V1`), found by
      `genstudio.weights` (explicit path > setting weights.vgg19 > torch hub cache), sha256-checked, loaded with
      `torch.load(weights_only=True)`. Never downloaded; missing weights are a one-line UserError.
  "random": torchvision's own initialisation (Kaiming normal, fan-out) under a fixed seed: deterministic on
      every machine, needs no file. A lower-quality offline mode: random convolutional networks still carry
      texture statistics (He, Wang & Hopcroft, NeurIPS 2016; Ustyuzhaninov et al., ICLR 2017), but ImageNet
      features separate content from style far better.

The weights live in non-persistent buffers: they move with `.to(device)`, take no gradient and never enter a
state_dict, so a trained model's safetensors file holds only its own weights and names the VGG in model.json.
Inputs are RGB in [0, 1]; the ImageNet normalisation happens inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.errors import UserError
from genstudio_style import VGG19 as VGG19_WEIGHTS  # torchvision's VGG19_Weights.IMAGENET1K_V1 file

VGG19_URL = "https://download.pytorch.org/models/" + VGG19_WEIGHTS.filename
RANDOM_SEED = 19  # the seed of features=random; changing it changes every random-features model
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CFG_E = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _layer_names() -> list[str]:
    """Names of torchvision's `features` indices: conv1_1, relu1_1, conv1_2, ..., pool1, conv2_1, ..."""
    names, block, conv = [], 1, 1
    for item in _CFG_E:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return names


LAYER_NAMES = _layer_names()  # index i = torchvision's vgg19().features[i]


def layer_index(name: str) -> int:
    try:
        return LAYER_NAMES.index(name)
    except ValueError:
        raise UserError(f"unknown VGG19 layer {name!r}; use names like relu1_1, relu4_2 or relu5_1") from None


def _torchvision_stack(upto: int) -> nn.Sequential:
    """torchvision's vgg19 features[:upto + 1], initialised as torchvision's VGG.__init__ does."""
    from torchvision.models.vgg import cfgs, make_layers

    stack = make_layers(cfgs["E"], batch_norm=False)[: upto + 1]
    for module in stack.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(module.bias, 0)
    return stack


def random_vgg_state(upto: int, seed: int = RANDOM_SEED) -> dict[str, torch.Tensor]:
    """The seeded features=random weights, in torchvision's key names, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _torchvision_stack(upto).state_dict()


def imagenet_vgg_state(path: str, upto: int) -> dict[str, torch.Tensor]:
    """The `features.*` tensors of a torchvision VGG19 checkpoint, checked against the architecture."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # a foreign .pth: tensors only, no code
    except Exception as exc:  # truncated, not a torch file, or a pickle with code in it
        raise UserError(f"VGG19 weights {path} are unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise UserError(f"VGG19 weights {path} must hold a state dict of tensors")
    expected = _torchvision_stack(upto).state_dict()
    found = {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
    for key, tensor in expected.items():
        if key not in found or tuple(found[key].shape) != tuple(tensor.shape):
            raise UserError(f"VGG19 weights {path} do not fit torchvision's vgg19 (tensor features.{key})")
    return {key: found[key].float() for key in expected}


class VGGFeatures(nn.Module):
    """VGG19 up to `last_layer`, frozen; `forward(x, layers)` returns the named activations.

    Shapes for an N x 3 x H x W input: relu1_x N x 64 x H x W, relu2_x 128 x H/2, relu3_x 256 x H/4,
    relu4_x 512 x H/8, relu5_x 512 x H/16 (each pool halves, rounding down).
    """

    def __init__(self, state: dict[str, torch.Tensor], last_layer: str, reference: dict[str, Any]):
        super().__init__()
        self.depth = layer_index(last_layer) + 1
        self.reference = dict(reference)  # what model.json records: name, features, file hash or seed
        self.convs: list[int] = []
        for index in range(self.depth):
            if LAYER_NAMES[index].startswith("conv"):
                self.register_buffer(f"weight{index}", state[f"{index}.weight"].clone(), persistent=False)
                self.register_buffer(f"bias{index}", state[f"{index}.bias"].clone(), persistent=False)
                self.convs.append(index)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = {layer_index(name): name for name in layers}
        if max(wanted) >= self.depth:
            raise ValueError(f"layer {wanted[max(wanted)]} is deeper than this extractor "
                             f"({LAYER_NAMES[self.depth - 1]})")
        out: dict[str, torch.Tensor] = {}
        h = (x - self.mean) / self.std  # N x 3 x H x W, ImageNet-normalised
        for index in range(max(wanted) + 1):
            name = LAYER_NAMES[index]
            if name.startswith("conv"):
                h = F.conv2d(h, getattr(self, f"weight{index}"), getattr(self, f"bias{index}"), padding=1)
            elif name.startswith("relu"):
                h = F.relu(h)
            else:
                h = F.max_pool2d(h, 2, 2)
            if index in wanted:
                out[wanted[index]] = h
        return out


def feature_reference(features: str, weights_path: str = "") -> tuple[dict[str, Any], str]:
    """(what model.json records about the feature network, the weights file or "" for random). For "imagenet"
    the file is located and hash-checked: a one-line UserError when it is missing or wrong."""
    if features == "random":
        return {"name": "vgg19", "features": "random", "seed": RANDOM_SEED,
                "note": "seeded random weights: lower-quality offline mode"}, ""
    if features != "imagenet":
        raise UserError(f"features must be imagenet or random, got {features!r}")
    from genstudio.weights import find_weights

    located = find_weights(VGG19_WEIGHTS, weights_path or None,
                           hint=f"download {VGG19_URL}, or use --set features=random for a lower-quality offline mode")
    return {"features": "imagenet", **located.to_dict()}, str(located.path)


def load_vgg(
    features: str,  # "imagenet" | "random"
    last_layer: str,  # the deepest layer needed, e.g. "relu5_1"
    weights_path: str = "",  # explicit file for "imagenet"; "" = setting weights.vgg19, then the hub cache
) -> VGGFeatures:
    """The frozen extractor. "imagenet" without a findable, hash-correct file raises a one-line UserError."""
    upto = layer_index(last_layer)
    reference, path = feature_reference(features, weights_path)
    state = imagenet_vgg_state(path, upto) if path else random_vgg_state(upto)
    return VGGFeatures(state, last_layer, reference)


def deepest(layers: Sequence[str]) -> str:
    """The deepest of `layers` (the extractor must reach it)."""
    return max(layers, key=layer_index)


def parse_layers(text: str, what: str) -> dict[str, float]:
    """"relu1_1,relu2_1:0.5" -> {"relu1_1": 1.0, "relu2_1": 0.5}; a UserError for unknown names or weights."""
    layers: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, weight = item.partition(":")
        layer_index(name.strip())
        try:
            layers[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise UserError(f"{what}: weight of {name.strip()} must be a number, got {weight!r}") from None
    if not layers:
        raise UserError(f"{what}: give at least one VGG19 layer, e.g. relu4_2")
    return layers
