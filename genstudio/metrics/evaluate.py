"""Compare a set of generated images with a set of real ones: FID, KID, precision and recall in one call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink
from genstudio.metrics.features import FeatureExtractor, compute_features, load_features

METRICS = ("fid", "kid", "precision", "recall")


def check_metrics(metrics: Sequence[str]) -> None:
    """UserError naming the first unknown metric name."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")


def metrics_from_features(
    real: Any,  # N x D features of the real images
    fake: Any,  # M x D features of the generated images
    metrics: Sequence[str] = METRICS,  # any of "fid", "kid", "precision", "recall"
    kid_subsets: int = 100,  # KID: random subsets averaged over
    kid_subset_size: int = 1000,  # KID: samples per subset, lowered to the smaller set's size
    k: int = 3,  # precision/recall: k of the k-NN radii
    seed: int = 0,  # KID: subset sampling seed
) -> dict[str, float]:
    """The requested metrics; "kid" also adds "kid_std". Keys follow the order of `metrics`."""
    from genstudio.metrics import distances

    check_metrics(metrics)
    results: dict[str, float] = {}
    pr: tuple[float, float] | None = None
    for metric in metrics:
        if metric == "fid":
            results["fid"] = distances.fid(real, fake)
        elif metric == "kid":
            results["kid"], results["kid_std"] = distances.kid(real, fake, kid_subsets, kid_subset_size, seed=seed)
        else:
            pr = pr or distances.precision_recall(real, fake, k=k)
            results[metric] = pr[0] if metric == "precision" else pr[1]
    return results


def evaluate(
    real: Any,  # real images: N x C x H x W in [0, 1], or an iterable of images / batches
    fake: Any,  # generated images, same forms
    extractor: FeatureExtractor | str | Path = "inception",  # an extractor, "inception" or a .onnx/.pt/.ts path
    metrics: Sequence[str] = METRICS,  # any of "fid", "kid", "precision", "recall"
    batch_size: int = 64,  # images per forward pass; the results do not depend on it
    kid_subsets: int = 100,  # KID: random subsets averaged over
    kid_subset_size: int = 1000,  # KID: samples per subset, lowered to the smaller set's size
    k: int = 3,  # precision/recall: k of the k-NN radii
    seed: int = 0,  # KID: subset sampling seed
    sink: EventSink | None = None,  # progress events while features are computed
    abort: AbortCheck | None = None,  # checked between batches; raises Cancelled
) -> dict[str, float]:
    """Features of both sets, then `metrics_from_features`. Returns {"fid": ..., "kid": ..., "kid_std": ...,
    "precision": ..., "recall": ...} for the metrics asked for."""
    check_metrics(metrics)  # before any network runs
    if not isinstance(extractor, FeatureExtractor):
        extractor = load_features(extractor)
    real_f = compute_features(real, extractor, batch_size, sink, abort, task="Features of real images")
    fake_f = compute_features(fake, extractor, batch_size, sink, abort, task="Features of generated images")
    return metrics_from_features(real_f, fake_f, metrics, kid_subsets, kid_subset_size, k, seed)
