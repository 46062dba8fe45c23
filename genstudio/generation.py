"""Deterministic sampling from generator models, and the latent API the app builds on.

Image `index` of seed `seed` is drawn from its own random stream (genstudio.latents), on the CPU, whatever the
batch it is computed in or the device it runs on. So asking for 16 images or for 1000 gives the same first 16,
and batch size never changes an image. What a request means (classes, truncation, style mixing) is
genstudio.sampling's, which also runs it on an ONNX twin without torch.

Works for any model following the generator contract (`latent_dim`, `num_classes`, `generate(z, labels)`),
which VAEs follow too: their prior is the standard normal, like a GAN's noise.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from genstudio.errors import UserError
from genstudio.latents import RULE, latent_array, latent_arrays, latent_seed  # noqa: F401 (latent_seed: API)
from genstudio.sampling import (  # noqa: F401 (the sampling API, re-exported)
    Mixing,
    Sample,
    check_style_options,
    check_truncation,
    grid_array,
    label_for,
    resolve_label,
)


def latent(seed: int, index: int, latent_dim: int, rule: str = RULE) -> torch.Tensor:
    """The standard-normal latent of image `index` of `seed` (a float32 CPU vector; genstudio.latents)."""
    return torch.from_numpy(latent_array(seed, index, latent_dim, rule))


def latents(seed: int, indices: Sequence[int], latent_dim: int, rule: str = RULE) -> torch.Tensor:
    """len(indices) x latent_dim: `latent(seed, i)` for each i."""
    return torch.from_numpy(latent_arrays(seed, indices, latent_dim, rule))


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


def interpolate_seeds(seed_a: int, seed_b: int, steps: int, latent_dim: int, *, index: int = 0,
                      rule: str = RULE) -> torch.Tensor:
    """`steps` latents from image `index` of `seed_a` to image `index` of `seed_b`, ends included (slerp)."""
    if steps < 2:
        raise UserError(f"interpolation needs at least 2 steps, got {steps}")
    a, b = latent(seed_a, index, latent_dim, rule), latent(seed_b, index, latent_dim, rule)
    return torch.stack([slerp(a, b, i / (steps - 1)) for i in range(steps)])


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
    rule: str = RULE,  # how the latents are drawn (genstudio.latents)
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
        z = latents(seed, chunk, module.latent_dim, rule)
        if truncation != 1.0 and not style_based:
            z = truncate(module, z, truncation, truncation_mode)
        labels_list = [label_for(i, label, num_classes) for i in chunk]
        labels = torch.tensor(labels_list, dtype=torch.long, device=device) if num_classes else None
        mix_z = latents(mixing.seed, chunk, module.latent_dim, rule) if style_based and mixing is not None else None
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
    return torch.as_tensor(images).float().clamp(0, 1).cpu()  # an ONNX twin answers with an array


def grid(images: Sequence[torch.Tensor], columns: int | None = None, padding: int = 2) -> torch.Tensor:
    """Images (C x H x W, same size) tiled into one 3 x H' x W' image, about square (genstudio.sampling.grid_array)."""
    return torch.from_numpy(grid_array([image.detach().cpu().float().numpy() for image in images], columns, padding))
