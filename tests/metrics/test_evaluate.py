"""evaluate(): images -> features -> metrics, independent of the batch size."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genstudio.errors import UserError
from genstudio.metrics.evaluate import evaluate, metrics_from_features


class ConvFeatures:
    """A small fixed conv net as a FeatureExtractor: images -> 16 features."""

    name, dim = "conv16", 16

    def __init__(self):
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),  # 8 x H/2 x W/2
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),  # 16 x H/4 x W/4
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # 16
        ).eval()

    def __call__(self, images):
        return self.net(images.expand(-1, 3, -1, -1))


@pytest.fixture(scope="module")
def image_sets():
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(100, 3, 16, 16, generator=gen)
    fake = (torch.rand(90, 3, 16, 16, generator=gen) * 0.8 + 0.1).clamp(0, 1)
    return real, fake


def test_results_do_not_depend_on_the_batch_size(image_sets):
    real, fake = image_sets
    extractor = ConvFeatures()
    small = evaluate(real, fake, extractor, batch_size=7, kid_subsets=20)
    large = evaluate(real, fake, extractor, batch_size=64, kid_subsets=20)
    assert list(small) == ["fid", "kid", "kid_std", "precision", "recall"]
    for key in small:
        assert small[key] == pytest.approx(large[key], rel=1e-6, abs=1e-9), key


def test_iterables_of_images_give_the_same_results_as_tensors(image_sets):
    real, fake = image_sets
    extractor = ConvFeatures()
    as_tensors = evaluate(real, fake, extractor, metrics=("fid", "precision"), batch_size=32)
    as_items = evaluate(iter(real), (fake[i : i + 9] for i in range(0, 90, 9)), extractor, metrics=("fid", "precision"),
                        batch_size=32)
    assert as_items == pytest.approx(as_tensors, rel=1e-6)
    assert list(as_items) == ["fid", "precision"]


def test_same_set_scores_perfectly(image_sets):
    real, _ = image_sets
    scores = evaluate(real, real, ConvFeatures(), metrics=("fid", "precision", "recall"))
    assert abs(scores["fid"]) < 1e-6 and scores["precision"] == scores["recall"] == 1.0


def test_unknown_metric_is_rejected_before_any_work():
    with pytest.raises(UserError, match="unknown metric 'isc'"):
        evaluate(None, None, "no-such-extractor.onnx", metrics=("fid", "isc"))
    with pytest.raises(UserError, match="unknown metric"):
        metrics_from_features(torch.randn(5, 2), torch.randn(5, 2), metrics=("lpips",))


def test_evaluate_loads_an_extractor_from_a_spec(tmp_path, image_sets):
    with pytest.raises(UserError, match="does not exist"):
        evaluate(*image_sets, str(tmp_path / "missing.onnx"))


class Digits:
    """A 'classifier' whose class scores are fixed by the image's mean brightness: 4 classes."""

    name, dim = "brightness-classes", 4

    def __call__(self, images):
        level = (images.mean(dim=(1, 2, 3)) * 3.999).floor().long()  # 0..3
        return torch.nn.functional.one_hot(level, 4).float() * 50  # confident scores


def test_inception_score_over_a_user_classifier():
    """Salimans et al. 2016: exp(E KL(p(y|x) || p(y))): confident and balanced over 4 classes -> 4; one class -> 1."""
    from genstudio.metrics.distances import inception_score

    levels = torch.arange(400) % 4  # 100 images of each brightness class
    balanced = (levels.float()[:, None, None, None] + 0.5).div(4).expand(400, 1, 8, 8)
    result = evaluate(balanced, balanced, Digits(), metrics=("is",))  # 10 shuffled splits: nearly balanced each
    assert result["is"] == pytest.approx(4.0, rel=0.05) and 0 < result["is_std"] < 0.2
    assert inception_score(Digits()(balanced), splits=1)[0] == pytest.approx(4.0, rel=1e-9)
    assert evaluate(balanced, torch.full((20, 1, 8, 8), 0.1), Digits(), metrics=("is",))["is"] == pytest.approx(1.0)
    logits = torch.randn(30, 5)
    p = logits.double().softmax(1)
    by_hand = (p * (p.log() - p.mean(0, keepdim=True).log())).sum(1).mean().exp()
    assert inception_score(logits, splits=1)[0] == pytest.approx(float(by_hand), rel=1e-9)
    with pytest.raises(UserError, match="at least 10 images"):
        inception_score(torch.randn(5, 3))
    both = evaluate(balanced, balanced, Digits(), metrics=("fid", "is"), batch_size=7)
    assert list(both) == ["fid", "is", "is_std"]
