"""Feature extractors: images (N x C x H x W float in [0, 1], C in {1, 3}, any size) -> N x D float features.

`load_features("inception")` gives the standard FID network (see `inception.py`); `load_features(PATH)` loads a
user network from an ONNX or TorchScript file (see `external.py`). `compute_features` runs an extractor over a
tensor or an iterable of images in fixed-size batches. Every extractor works image by image, so features (and
the metrics on them) do not depend on the batch size.
The image preparation the extractors share (checks, channels, resizing) is in `preprocess.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.metrics.preprocess import check_images

if TYPE_CHECKING:
    import torch

INCEPTION = "inception"  # the spec naming the built-in FID network


@runtime_checkable
class FeatureExtractor(Protocol):
    """What the metrics need from a feature network."""

    name: str  # shown in reports: "inception-v3-pool3", "onnx:my_net.onnx"
    dim: int | None  # feature width; None until the first call for networks that do not declare it

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...  # N x C x H x W in [0, 1] -> N x D float


def load_features(
    spec: str | Path,
    weights: str | Path | None = None,  # "inception" only: the weights file, instead of settings / hub cache
    input_size: int | None = None,  # TorchScript, or ONNX with a dynamic size: resize to this square size first
) -> FeatureExtractor:
    """"inception" for InceptionV3 pool3 (FID/KID standard) or a path to a `.onnx`, `.pt` or `.ts` network."""
    if str(spec) == INCEPTION:
        from genstudio.metrics.inception import InceptionFeatures

        return InceptionFeatures(weights)
    from genstudio.metrics.external import load_external

    return load_external(Path(spec).expanduser(), input_size=input_size)


def load_classifier(
    spec: str | Path,
    weights: str | Path | None = None,  # "inception" only: the weights file
    input_size: int | None = None,
) -> FeatureExtractor:
    """The class scores the Inception Score reads: "inception" for InceptionV3's logits (the same local weights
    rule as FID), or a path to a user's `.onnx`, `.pt` or `.ts` classifier whose output is N x classes scores."""
    if str(spec) == INCEPTION:
        from genstudio.metrics.inception import InceptionLogits

        return InceptionLogits(weights)
    return load_features(spec, input_size=input_size)


def classifier_for(extractor: FeatureExtractor) -> FeatureExtractor:
    """The class scores that go with a feature network: InceptionV3's logits for its pool3 features (same weights
    file), a user network's own outputs otherwise (it must output class scores for the score to mean anything)."""
    from genstudio.metrics.inception import InceptionFeatures, InceptionLogits

    if isinstance(extractor, InceptionFeatures) and not isinstance(extractor, InceptionLogits):
        return InceptionLogits(extractor.weights_path, resize=extractor.resize)
    return extractor


# --------------------------------------------------------------------------------------------------------------
# Running an extractor over many images
# --------------------------------------------------------------------------------------------------------------


def iter_batches(images: Any, batch_size: int) -> Iterator[torch.Tensor]:
    """Regroup a tensor or an iterable of images/batches into batches of `batch_size` (the last may be smaller).

    Consecutive images of one size are grouped; a change of size closes the batch early.
    """
    import torch

    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    if isinstance(images, torch.Tensor):
        images = [check_images(images)]
    pending: list[torch.Tensor] = []
    count = 0
    for item in images:
        item = check_images(item[None] if isinstance(item, torch.Tensor) and item.ndim == 3 else item)
        if pending and item.shape[1:] != pending[0].shape[1:]:
            yield torch.cat(pending)
            pending, count = [], 0
        while item.shape[0]:
            take = batch_size - count
            pending.append(item[:take])
            count += pending[-1].shape[0]
            item = item[take:]
            if count == batch_size:
                yield torch.cat(pending)
                pending, count = [], 0
    if pending:
        yield torch.cat(pending)


def compute_features(
    images: Any,  # N x C x H x W tensor, or an iterable of C x H x W / N x C x H x W tensors
    extractor: FeatureExtractor,
    batch_size: int = 64,  # images per forward pass; results do not depend on it
    sink: EventSink | None = None,  # progress events, counted in images
    abort: AbortCheck | None = None,  # checked between batches; raises Cancelled
    task: str = "Computing features",  # the progress task's label
) -> torch.Tensor:
    """Run `extractor` over all images under torch.no_grad; returns N x D float32 features."""
    import torch

    total = images.shape[0] if isinstance(images, torch.Tensor) else None
    progress = Progress(sink, f"{task} ({extractor.name})", total=total, abort=abort)
    chunks: list[torch.Tensor] = []
    with torch.no_grad():
        for batch in iter_batches(images, batch_size):
            progress.check_abort()
            out = torch.as_tensor(extractor(batch)).detach().to("cpu", torch.float32)
            chunks.append(out.reshape(out.shape[0], -1))
            progress.update(advance=batch.shape[0])
    if not chunks:
        raise UserError("no images to compute features from")
    progress.finish(f"{int(progress.done)} images")
    return torch.cat(chunks)
