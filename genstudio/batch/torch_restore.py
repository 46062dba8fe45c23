"""The torch side of `genstudio.batch.restore`: a restorer whose torch module runs (a model folder without an
export, `--runtime torch`, or a backend that needs no training). Imported only then."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genstudio.backends import check_model_kind
from genstudio.batch.torch_edge import to_array, to_tensor


def open_torch_network(target: Any, params: dict[str, Any], device: str) -> tuple[Any, Any, Any, str]:
    """The module loaded (a model folder's checked weights, or a backend id built from its settings) and a function
    of arrays that runs it one image a call, `restore(x, mask, task)`, plus progress and abort when it reports them:
    (network, module, LoadedModel or None, the device for provenance)."""
    from genstudio.devices import describe_device, resolve_device
    from genstudio.models import load_model

    spec = target.spec
    torch_device = resolve_device(device)
    loaded = None
    if target.folder is not None:
        loaded = load_model(target.folder, device=torch_device)
        module = loaded.module
    else:
        module = spec.load().build(target.settings)
        check_model_kind(spec, module)
        module = module.to(torch_device).eval()
    task = params.get("task")
    reports = spec.capabilities.reports_progress

    def network(content: np.ndarray, mask: np.ndarray | None, **extra: Any) -> np.ndarray:
        images = to_tensor(content)
        masks = to_tensor(mask) if mask is not None else None
        extra = extra if reports else {}
        results = []
        with torch.no_grad():
            for index, image in enumerate(images):
                hole = masks[index:index + 1].to(torch_device) if masks is not None else None
                out = module.restore(image[None].to(torch_device), hole, task, **extra)
                results.append(torch.as_tensor(out).float().reshape(1, *out.shape[-3:]).cpu())
        return to_array(torch.cat(results))

    return network, module, loaded, describe_device(torch_device)
