"""Image-set metrics: FID, KID and improved precision/recall on features from InceptionV3 or a user network.

Importing this package imports no torch: the names below load their module on first use.

    from genstudio.metrics import evaluate, load_features
    scores = evaluate(real_images, fake_images, load_features("inception"))  # {"fid": ..., "kid": ..., ...}
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "fid": "distances",
    "kid": "distances",
    "precision_recall": "distances",
    "frechet_distance": "distances",
    "mean_cov": "distances",
    "FeatureExtractor": "features",
    "load_features": "features",
    "compute_features": "features",
    "InceptionFeatures": "inception",
    "INCEPTION_WEIGHTS": "inception",
    "find_inception_weights": "inception",
    "evaluate": "evaluate",
    "metrics_from_features": "evaluate",
    "METRICS": "evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
