"""The latent of image `index` of seed `seed`: one standard-normal vector per (seed, index), whatever the batch,
device or runtime it is drawn for. Nothing here imports torch, so an exported generator samples without it.

Image i of seed s is drawn from its own stream, seeded from the pair through numpy's SeedSequence. Two rules
have made latents, and provenance names the one it used (parameter "latents"):

  pcg64   numpy's PCG64 and its ziggurat normals (float64, rounded to float32): integer arithmetic and table
          lookups, so the same on every platform and in every process; the rule now
  torch   torch.Generator (mt19937) + torch.randn on the CPU, the rule before; a record without "latents" was
          made with it, and `genstudio reproduce` redraws it so (importing torch for it)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genstudio.errors import UserError

RULE = "pcg64"  # what new records are drawn with
LEGACY_RULE = "torch"  # what a record without a "latents" parameter was drawn with
RULES = (RULE, LEGACY_RULE)


def latent_seed(seed: int, index: int) -> int:
    """A 64-bit seed for image `index` of `seed`, well mixed so nearby pairs give unrelated streams."""
    if seed < 0 or index < 0:
        raise UserError(f"seeds and indices must be >= 0, got seed {seed}, index {index}")
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def check_rule(rule: object) -> str:
    """The rule a record names (untrusted), or a one-line UserError."""
    if rule not in RULES:
        raise UserError(f"unknown latent rule {rule!r} (known: {', '.join(RULES)}); a newer genstudio made this "
                        "image")
    return str(rule)


def record_rule(parameters: dict[str, object]) -> str:
    """The rule a record's parameters say its latents were drawn with (none said: the legacy torch rule)."""
    return check_rule(parameters.get("latents", LEGACY_RULE))


def latent_array(seed: int, index: int, latent_dim: int, rule: str = RULE) -> np.ndarray:
    """The standard-normal latent of image `index` of `seed`: a float32 vector of `latent_dim`."""
    stream = latent_seed(seed, index)
    if check_rule(rule) == LEGACY_RULE:
        import torch

        return torch.randn(latent_dim, generator=torch.Generator().manual_seed(stream)).numpy()
    return np.random.Generator(np.random.PCG64(stream)).standard_normal(latent_dim).astype(np.float32)


def latent_arrays(seed: int, indices: Sequence[int], latent_dim: int, rule: str = RULE) -> np.ndarray:
    """len(indices) x latent_dim: `latent_array(seed, i)` for each i."""
    if not len(indices):
        return np.zeros((0, latent_dim), np.float32)
    return np.stack([latent_array(seed, index, latent_dim, rule) for index in indices])
