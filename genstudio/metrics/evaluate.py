"""Compare a set of generated images with a set of real ones: FID, KID, precision and recall in one call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink
from genstudio.metrics.features import FeatureExtractor, classifier_for, compute_features, load_features

DISTANCES = ("fid", "kid", "precision", "recall")  # between the real and the generated images' features
METRICS = DISTANCES + ("is",)  # "is": the Inception Score, of the generated images alone


def check_metrics(metrics: Sequence[str]) -> None:
    """UserError naming the first unknown metric name."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")


def metrics_from_features(
    real: Any,  # N x D features of the real images
    fake: Any,  # M x D features of the generated images
    metrics: Sequence[str] = DISTANCES,  # any of "fid", "kid", "precision", "recall", "is"
    kid_subsets: int = 100,  # KID: random subsets averaged over
    kid_subset_size: int = 1000,  # KID: samples per subset, lowered to the smaller set's size
    k: int = 3,  # precision/recall: k of the k-NN radii
    seed: int = 0,  # KID: subset sampling seed
    fake_scores: Any = None,  # "is": M x classes scores of the generated images (a classifier's logits)
) -> dict[str, float]:
    """The requested metrics; "kid" also adds "kid_std", "is" adds "is_std". Keys follow the order of `metrics`."""
    from genstudio.metrics import distances

    check_metrics(metrics)
    results: dict[str, float] = {}
    pr: tuple[float, float] | None = None
    for metric in metrics:
        if metric == "is":
            if fake_scores is None:
                raise UserError("the Inception Score needs the class scores of the generated images")
            results["is"], results["is_std"] = distances.inception_score(fake_scores)
        elif metric == "fid":
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
    metrics: Sequence[str] = DISTANCES,  # any of "fid", "kid", "precision", "recall", "is"
    batch_size: int = 64,  # images per forward pass; the results do not depend on it
    kid_subsets: int = 100,  # KID: random subsets averaged over
    kid_subset_size: int = 1000,  # KID: samples per subset, lowered to the smaller set's size
    k: int = 3,  # precision/recall: k of the k-NN radii
    seed: int = 0,  # KID: subset sampling seed
    sink: EventSink | None = None,  # progress events while features are computed
    abort: AbortCheck | None = None,  # checked between batches; raises Cancelled
    classifier: FeatureExtractor | None = None,  # "is": the class scores; default `classifier_for(extractor)`
) -> dict[str, float]:
    """Features of both sets, then `metrics_from_features`. Returns {"fid": ..., "kid": ..., "kid_std": ...,
    "precision": ..., "recall": ..., "is": ..., "is_std": ...} for the metrics asked for. The Inception Score
    reads InceptionV3's logits with the Inception features, a user network's outputs (class scores) otherwise."""
    check_metrics(metrics)  # before any network runs
    if not isinstance(extractor, FeatureExtractor):
        extractor = load_features(extractor)
    scores = None
    if "is" in metrics and len(metrics) > 1 and not hasattr(fake, "shape"):
        fake = list(fake)  # read twice: class scores and features
    if "is" in metrics:
        classifier = classifier or classifier_for(extractor)
        scores = compute_features(fake, classifier, batch_size, sink, abort, task="Class scores of generated images")
    distance_metrics = [metric for metric in metrics if metric != "is"]
    real_f = fake_f = None
    if distance_metrics:
        real_f = compute_features(real, extractor, batch_size, sink, abort, task="Features of real images")
        fake_f = compute_features(fake, extractor, batch_size, sink, abort, task="Features of generated images")
    return metrics_from_features(real_f, fake_f, metrics, kid_subsets, kid_subset_size, k, seed, fake_scores=scores)
