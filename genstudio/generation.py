"""Deterministic sampling from generator models, and the latent API the app builds on.

Image `index` of seed `seed` is drawn from its own random stream (seeded from the pair through numpy's
SeedSequence), on the CPU, whatever the batch it is computed in or the device it runs on. So asking for 16 images
or for 1000 gives the same first 16, and batch size never changes an image.

Works for any model following the generator contract (`latent_dim`, `num_classes`, `generate(z, labels)`),
which VAEs follow too: their prior is the standard normal, like a GAN's noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genstudio.errors import UserError


def latent_seed(seed: int, index: int) -> int:
    """A 64-bit seed for image `index` of `seed`, well mixed so nearby pairs give unrelated streams."""
    if seed < 0 or index < 0:
        raise UserError(f"seeds and indices must be >= 0, got seed {seed}, index {index}")
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def latent(seed: int, index: int, latent_dim: int) -> torch.Tensor:
    """The standard-normal latent of image `index` of `seed` (a float32 CPU vector)."""
    generator = torch.Generator().manual_seed(latent_seed(seed, index))
    return torch.randn(latent_dim, generator=generator)


def latents(seed: int, indices: Sequence[int], latent_dim: int) -> torch.Tensor:
    """len(indices) x latent_dim: `latent(seed, i)` for each i."""
    if not indices:
        return torch.empty(0, latent_dim)
    return torch.stack([latent(seed, index, latent_dim) for index in indices])


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from `a` (t=0) to `b` (t=1) along the last dimension (Shoemake 1985; White 2016
    for GAN latents): stays at the norm typical of Gaussian latents where a straight line would dip toward 0."""
    t = torch.as_tensor(t, dtype=a.dtype)
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cos = (a_unit * b_unit).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    nearly_parallel = sin.abs() < 1e-6
    safe_sin = torch.where(nearly_parallel, torch.ones_like(sin), sin)
    spherical = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / safe_sin
    linear = (1 - t) * a + t * b
    return torch.where(nearly_parallel, linear, spherical)


def interpolate_seeds(seed_a: int, seed_b: int, steps: int, latent_dim: int, *, index: int = 0) -> torch.Tensor:
    """`steps` latents from image `index` of `seed_a` to image `index` of `seed_b`, ends included (slerp)."""
    if steps < 2:
        raise UserError(f"interpolation needs at least 2 steps, got {steps}")
    a, b = latent(seed_a, index, latent_dim), latent(seed_b, index, latent_dim)
    return torch.stack([slerp(a, b, i / (steps - 1)) for i in range(steps)])


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


def truncate(module: Any, z: torch.Tensor, psi: float, mode: str = "prior") -> torch.Tensor:
    """Move latents toward the mean latent by `psi` (1: unchanged, 0: the mean) (Karras et al. 2019, sec. 4).
    `mode` is the backend's declared capability: "prior" (a standard-normal prior, whose mean is 0: z * psi),
    "own" (the module's `truncate(z, psi)`, for a learned mapping) or "none" (no truncation)."""
    check_truncation(psi)
    if mode == "own":
        return module.truncate(z, psi)
    if mode == "none":
        raise UserError(f"{type(module).__name__} does not support truncation")
    return z * psi


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
    image: torch.Tensor  # C x H x W in [0, 1], on the CPU


@torch.no_grad()
def generate(
    module: torch.nn.Module,
    seed: int,
    indices: Sequence[int],
    *,
    label: int | None = None,  # None: cycle through the classes (conditional models)
    truncation: float = 1.0,
    truncation_mode: str = "prior",  # the backend's declared Capabilities.truncation
    batch_size: int = 64,
    device: torch.device | str | None = None,  # default: where the module's parameters are
    style_based: bool = False,  # the backend declares style_mixing: truncation in W through generate_styles
    truncation_cutoff: int | None = None,  # style-based: truncate the styles of layers below this only
    mixing: Mixing | None = None,  # style-based: styles from `mixing.layer` on from another seed
    captions: torch.Tensor | None = None,  # caption models: 1 x L token ids (genstudio.captions) for every image
) -> Iterator[Sample]:
    """Images `indices` of `seed`, computed `batch_size` at a time, yielded in order."""
    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    if not style_based and (truncation_cutoff is not None or mixing is not None):
        raise UserError(f"{type(module).__name__} is not a style-based generator: it takes no truncation cutoff "
                        "or style mixing")
    if device is None:
        first = next(iter(module.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    module.eval()
    num_classes = int(module.num_classes)
    for start in range(0, len(indices), batch_size):
        chunk = list(indices[start:start + batch_size])
        z = latents(seed, chunk, module.latent_dim)
        if truncation != 1.0 and not style_based:
            z = truncate(module, z, truncation, truncation_mode)
        labels_list = [label_for(i, label, num_classes) for i in chunk]
        labels = torch.tensor(labels_list, dtype=torch.long, device=device) if num_classes else None
        mix_z = latents(mixing.seed, chunk, module.latent_dim) if style_based and mixing is not None else None
        images = images_from_latents(module, z, labels, truncation=truncation, style_based=style_based,
                                     truncation_cutoff=truncation_cutoff, mix_z=mix_z,
                                     mix_from=mixing.layer if mixing is not None else None, device=device,
                                     captions=captions.expand(len(chunk), -1) if captions is not None else None)
        for offset, index in enumerate(chunk):
            yield Sample(index, labels_list[offset], images[offset])


@torch.no_grad()
def images_from_latents(
    module: Any,
    z: torch.Tensor,  # N x latent_dim; already truncated for a generator that is not style-based
    labels: torch.Tensor | None,  # N class indices (conditional models), or None
    *,
    truncation: float = 1.0,  # style-based: toward w_avg in W
    style_based: bool = False,  # the backend declares style_mixing: through generate_styles
    truncation_cutoff: int | None = None,  # style-based: truncate the layers below this only
    mix_z: torch.Tensor | None = None,  # style-based: N x latent_dim whose styles layers >= mix_from take
    mix_from: int | None = None,
    device: torch.device | str = "cpu",
    captions: torch.Tensor | None = None,  # caption models: N x L token ids, passed as generate(..., captions=)
) -> torch.Tensor:
    """N x C x H x W in [0, 1] on the CPU: what `generate` draws from its latents, for callers that choose their
    own latents (a latent walk)."""
    if style_based:
        check_truncation(truncation)
        images = module.generate_styles(z.to(device), labels, truncation=truncation,
                                        truncation_cutoff=truncation_cutoff,
                                        mix_z=mix_z.to(device) if mix_z is not None else None, mix_from=mix_from)
    elif captions is not None:
        images = module.generate(z.to(device), labels, captions=captions.to(device))
    else:
        images = module.generate(z.to(device), labels)
    return images.float().clamp(0, 1).cpu()


def grid(images: Sequence[torch.Tensor], columns: int | None = None, padding: int = 2) -> torch.Tensor:
    """Images (C x H x W, same size) tiled into one C x H' x W' image, about square."""
    from torchvision.utils import make_grid

    if not images:
        raise ValueError("no images to tile")
    columns = columns or math.ceil(math.sqrt(len(images)))
    return make_grid(torch.stack(list(images)), nrow=columns, padding=padding, pad_value=1.0)


class OnnxStyleGenerator:
    """An exported style-based generator behind the generator contract and `generate_styles`: its main graph takes
    z, [labels,] psi, truncation_cutoff, mix_z, mix_from and the noise inputs (capability `style_mixing`), fed
    the fixed noise of the torch module it was exported from. Tensors in and out are torch CPU tensors."""

    def __init__(self, session: Any, module: Any):
        self.session = session  # genstudio.onnx_runtime.Session
        self.latent_dim, self.num_classes = int(module.latent_dim), int(module.num_classes or 0)
        self.num_ws = int(module.num_ws)
        self.noise = {name: value[:1].detach().float().cpu().numpy()
                      for name, value in module.noise_inputs(1).items()}

    def eval(self) -> OnnxStyleGenerator:
        return self

    def parameters(self):
        return iter(())

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate_styles(z, labels)

    def generate_styles(self, z: torch.Tensor, labels: torch.Tensor | None = None, *, truncation: Any = 1.0,
                        truncation_cutoff: Any = None, mix_z: torch.Tensor | None = None,
                        mix_from: Any = None) -> torch.Tensor:
        count = z.shape[0]

        def per_image(value: Any, dtype: Any) -> np.ndarray:
            array = np.asarray(value.cpu() if isinstance(value, torch.Tensor) else value, dtype=dtype)
            return np.broadcast_to(array, (count,)).copy()

        mixed = mix_z is not None and mix_from is not None
        inputs = {"z": z.detach().cpu().float().numpy(),
                  "psi": per_image(truncation, np.float32),
                  "truncation_cutoff": per_image(self.num_ws if truncation_cutoff is None else truncation_cutoff,
                                                 np.int64),
                  "mix_z": (mix_z if mixed else z).detach().cpu().float().numpy(),
                  "mix_from": per_image(mix_from if mixed else self.num_ws, np.int64)}
        if "labels" in self.session.input_names:
            if labels is None:
                labels = torch.arange(count) % max(1, self.num_classes)
            inputs["labels"] = labels.detach().cpu().long().numpy()
        for name, value in self.noise.items():
            inputs[name] = np.repeat(value, count, axis=0)
        return torch.from_numpy(self.session.run(inputs)[0])


class OnnxCaptionGenerator:
    """An exported caption model behind the generator contract: its graph takes z and the caption's token ids (the
    declared caption input's `graph_input`). Tensors in and out are torch CPU tensors."""

    def __init__(self, session: Any, module: Any, caption_input: str):
        self.session = session  # genstudio.onnx_runtime.Session
        self.latent_dim, self.num_classes = int(module.latent_dim), 0
        self.max_tokens, self.caption_input = int(module.max_tokens), caption_input

    def eval(self) -> OnnxCaptionGenerator:
        return self

    def parameters(self):
        return iter(())

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                 captions: torch.Tensor | None = None) -> torch.Tensor:
        if captions is None:
            captions = torch.zeros(z.shape[0], self.max_tokens, dtype=torch.long)
        inputs = {"z": z.detach().cpu().float().numpy(), self.caption_input: captions.detach().cpu().long().numpy()}
        return torch.from_numpy(self.session.run(inputs)[0])
