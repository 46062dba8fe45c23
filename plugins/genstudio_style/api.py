"""The Python API: `stylize(model, content, style=None, strength=..., preserve_color=..., max_size=...)`.

    from genstudio_style import stylize
    out = stylize("gatys", photo, painting, config={"features": "random"}, max_size=256)   # no model folder
    out = stylize("models/candy", photo)                                                   # a fast-style folder
    out = stylize("models/adain", photo, [painting, sketch], style_weights=[0.7, 0.3])    # an adain folder

Images in: a PIL image, a float tensor C x H x W (or 1 x C x H x W) in [0, 1], or an image path. Out: the same
kind as `content`: a PIL RGB image for a PIL image or a path, a 3 x H x W float tensor in [0, 1] for a tensor.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from genstudio.backends import BackendKind, StylizerModel
from genstudio.errors import UserError


def load_stylizer(
    model: Any,  # a model folder, a backend id ("gatys"), a LoadedModel, or a built stylizer module
    *,
    config: dict[str, Any] | None = None,  # for a backend id: config values over the defaults
    device: str | torch.device = "cpu",
) -> torch.nn.Module:
    """The stylizer module, in eval mode on `device`: genstudio's own loader for model folders and backend ids
    (`genstudio.models.open_model_or_backend`), so the API opens exactly what `genstudio stylize` opens."""
    from genstudio.devices import resolve_device
    from genstudio.models import LoadedModel, open_model_or_backend

    if isinstance(model, LoadedModel):
        return model.module
    if isinstance(model, torch.nn.Module):
        if not isinstance(model, StylizerModel):
            raise UserError(f"{type(model).__name__} is not a stylizer (it has no stylize method)")
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise UserError(f"model must be a model folder, a backend id or a stylizer, got {type(model).__name__}")
    return open_model_or_backend(os.fspath(model), (BackendKind.STYLIZER,), "a stylizer",
                                 device=resolve_device(str(device)), config=config).module


def stylize(model: Any, content: Any, style: Any = None, *, config: dict[str, Any] | None = None,
            device: str | torch.device = "cpu", **params: Any) -> Any:
    """Stylize one image with `model` (see `load_stylizer`); `params` go to the module's `stylize`: strength,
    preserve_color, max_size, and per backend steps/progress/abort (gatys) or style_weights (adain)."""
    return load_stylizer(model, config=config, device=device).stylize(content, style, **params)
