"""What a sampling request means, independent of the runtime, and sampling an exported generator without torch.

A request is "images `indices` of seed `seed`" with a class, a truncation and, for a style-based generator, a
truncation cutoff and style mixing; image i is drawn from its own latent (genstudio.latents), so batch size,
device and runtime never change it. `genstudio.generation` runs a request on a torch module; `generate_arrays`
here runs it on an ONNX twin (genstudio.onnx_runtime) on numpy. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genstudio.errors import UserError
from genstudio.latents import RULE, latent_arrays


@dataclass(frozen=True)
class Mixing:
    """Style mixing (Karras et al. 2019, section 3.1) for a style-based generator: image i of the request takes
    its styles from layer `layer` on (1 .. num_ws - 1: coarse to fine) from image i of seed `seed`."""

    seed: int
    layer: int


@dataclass(frozen=True)
class Sample:
    """One generated image and what it was made from."""

    index: int
    label: int | None
    image: Any  # C x H x W in [0, 1] on the CPU: a torch tensor (torch runtime) or a float32 array (ONNX runtime)


def check_truncation(psi: float) -> None:
    if not 0.0 <= psi <= 1.0:
        raise UserError(f"truncation must be between 0 and 1, got {psi}")


def check_style_options(num_ws: int, truncation_cutoff: int | None, mixing: Mixing | None) -> None:
    """UserError (one line) for a cutoff outside 0..num_ws or a crossover layer outside 1..num_ws - 1."""
    if truncation_cutoff is not None and not 0 <= truncation_cutoff <= num_ws:
        raise UserError(f"--truncation-cutoff must be a style layer from 0 to {num_ws}, got {truncation_cutoff}")
    if mixing is not None and not 1 <= mixing.layer < num_ws:
        raise UserError(f"--mix-from must be a style layer from 1 to {num_ws - 1} (the model has {num_ws}), got "
                        f"{mixing.layer}")
    if mixing is not None and mixing.seed < 0:
        raise UserError(f"--mix-with must be a seed >= 0, got {mixing.seed}")


def resolve_label(label: str | int | None, num_classes: int, class_names: Sequence[str] = ()) -> int | None:
    """A class label given by name or number -> its index; None for "cycle through the classes"."""
    if label is None or label == "":
        return None
    if num_classes == 0:
        raise UserError("this model is not conditional: it takes no --label")
    text = str(label)
    if text in class_names:
        return list(class_names).index(text)
    if text.lstrip("-").isdigit():
        value = int(text)
        if 0 <= value < num_classes:
            return value
        raise UserError(f"label {value} is out of range: the model has classes 0..{num_classes - 1}")
    known = ", ".join(class_names) if class_names else f"0..{num_classes - 1}"
    raise UserError(f"unknown label {text!r}; the model's classes are {known}")


def label_for(index: int, label: int | None, num_classes: int) -> int | None:
    """The class of image `index`: the requested one, or cycling 0, 1, 2, ... for a conditional model."""
    if num_classes == 0:
        return None
    return label if label is not None else index % num_classes


def generate_arrays(
    twin: Any,  # an ONNX twin (genstudio.onnx_runtime.OnnxGenerator and kin): numpy in, numpy out
    seed: int,
    indices: Sequence[int],
    *,
    label: int | None = None,  # None: cycle through the classes (conditional models)
    truncation: float = 1.0,
    truncation_mode: str = "prior",  # the backend's declared Capabilities.truncation ("own" cannot run here)
    batch_size: int = 64,
    style_based: bool = False,  # the graph takes psi, the cutoff and style mixing (OnnxStyleGenerator)
    truncation_cutoff: int | None = None,
    mixing: Mixing | None = None,
    captions: np.ndarray | None = None,  # caption models: 1 x L token ids for every image
    rule: str = RULE,  # how the latents are drawn (genstudio.latents)
) -> Iterator[Sample]:
    """`genstudio.generation.generate` on an exported generator: the same request, the same latents, images as
    float32 arrays, yielded in order."""
    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    check_truncation(truncation)
    if not style_based and (truncation_cutoff is not None or mixing is not None):
        raise UserError("this generator is not style-based: it takes no truncation cutoff or style mixing")
    if truncation != 1.0 and not style_based and truncation_mode != "prior":
        raise UserError(f"truncation mode {truncation_mode!r} does not run on an exported graph; use --runtime torch")
    num_classes = int(twin.num_classes or 0)
    for start in range(0, len(indices), batch_size):
        chunk = list(indices[start:start + batch_size])
        z = latent_arrays(seed, chunk, twin.latent_dim, rule)
        if truncation != 1.0 and not style_based:  # a standard-normal prior: its mean is 0
            z = z * np.float32(truncation)
        labels_list = [label_for(i, label, num_classes) for i in chunk]
        labels = np.asarray(labels_list, np.int64) if num_classes else None
        if style_based:
            mix_z = latent_arrays(mixing.seed, chunk, twin.latent_dim, rule) if mixing is not None else None
            images = twin.generate_styles(z, labels, truncation=truncation, truncation_cutoff=truncation_cutoff,
                                          mix_z=mix_z, mix_from=mixing.layer if mixing is not None else None)
        elif captions is not None:
            images = twin.generate(z, labels, captions=np.repeat(np.asarray(captions, np.int64), len(chunk), 0))
        else:
            images = twin.generate(z, labels)
        images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
        for offset, index in enumerate(chunk):
            yield Sample(index, labels_list[offset], images[offset])


def grid_array(images: Sequence[Any], columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Images (C x H x W in [0, 1], same size) tiled into one 3 x H' x W' float32 image, about square, on white
    (grey images are repeated to RGB; one image is returned as it is): torchvision's make_grid layout."""
    if not images:
        raise ValueError("no images to tile")
    arrays = [np.asarray(image, np.float32) for image in images]
    if arrays[0].shape[0] == 1:
        arrays = [np.repeat(array, 3, axis=0) for array in arrays]
    if len(arrays) == 1:
        return arrays[0]
    columns = min(columns or math.ceil(math.sqrt(len(arrays))), len(arrays))
    rows = math.ceil(len(arrays) / columns)
    channels, height, width = arrays[0].shape
    step_y, step_x = height + padding, width + padding
    sheet = np.ones((channels, rows * step_y + padding, columns * step_x + padding), np.float32)
    for k, array in enumerate(arrays):
        top, left = (k // columns) * step_y + padding, (k % columns) * step_x + padding
        sheet[:, top:top + height, left:left + width] = array
    return sheet
