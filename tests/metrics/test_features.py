"""Feature extractors: user ONNX/TorchScript files, the InceptionV3 weights lookup (never a download), imports."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
import warnings

import pytest
import torch
from torch import nn

from genstudio.errors import UserError
from genstudio.metrics.features import compute_features, iter_batches, load_features
from genstudio.metrics.preprocess import resize_float
from genstudio.settings import Settings


class TinyNet(nn.Module):
    """3 x H x W -> 8 features."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # 8 x H x W
        self.pool = nn.AdaptiveAvgPool2d(1)  # 8 x 1 x 1

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x))).flatten(1)


# -- ONNX and TorchScript --------------------------------------------------------------------------------------


def test_onnx_extractor_reads_the_input_size_from_the_model(tmp_path):
    net, path = TinyNet().eval(), tmp_path / "tiny.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.rand(1, 3, 16, 16),), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    extractor = load_features(path)
    assert extractor.name == "onnx:tiny.onnx" and extractor.dim == 8
    images = torch.rand(5, 3, 32, 32)
    expected = net(resize_float(images, (16, 16))).detach()
    assert torch.allclose(extractor(images), expected, atol=1e-5)
    gray = torch.rand(2, 1, 16, 16)
    assert torch.allclose(extractor(gray), net(gray.expand(-1, 3, -1, -1)).detach(), atol=1e-5)


def test_torchscript_extractor(tmp_path):
    net, path = TinyNet().eval(), tmp_path / "tiny.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(net), str(path))
    extractor = load_features(str(path))
    images = torch.rand(4, 3, 20, 20)
    assert torch.allclose(extractor(images), net(images).detach(), atol=1e-6)
    assert extractor.dim == 8 and extractor.name == "torchscript:tiny.pt"
    resized = load_features(path, input_size=12)
    assert torch.allclose(resized(images), net(resize_float(images, (12, 12))).detach(), atol=1e-6)


@pytest.mark.parametrize("name", ["net.onnx", "net.pt", "net.ts"])
def test_unreadable_network_files_are_user_errors(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not a network")
    with pytest.raises(UserError, match="net"):
        load_features(path)


def test_unknown_extension_and_missing_file_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"\.onnx, \.pt or \.ts"):
        load_features(tmp_path / "net.h5")
    with pytest.raises(UserError, match="does not exist"):
        load_features(tmp_path / "missing.onnx")


# -- batching --------------------------------------------------------------------------------------------------


def test_iter_batches_regroups_tensors_and_iterables():
    images = torch.rand(10, 3, 8, 8)
    assert [b.shape[0] for b in iter_batches(images, 4)] == [4, 4, 2]
    mixed = [images[0], images[1:4], torch.rand(2, 1, 8, 8), torch.rand(3, 1, 8, 8)]
    assert [tuple(b.shape[:2]) for b in iter_batches(mixed, 3)] == [(3, 3), (1, 3), (3, 1), (2, 1)]
    with pytest.raises(UserError, match="channels"):
        list(iter_batches([torch.rand(2, 4, 8, 8)], 3))
    with pytest.raises(UserError, match="floats"):
        list(iter_batches(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), 3))


def test_compute_features_reports_progress_and_can_be_cancelled():
    from genstudio.errors import Cancelled
    from genstudio.events import EventCollector

    class Mean:
        name, dim = "mean", 3

        def __call__(self, images):
            return images.mean(dim=(2, 3))

    sink = EventCollector()
    features = compute_features(torch.rand(10, 3, 4, 4), Mean(), batch_size=4, sink=sink)
    assert features.shape == (10, 3)
    assert [e.done for e in sink.of_kind("progress")] == [4, 8, 10] and sink.of_kind("end")
    with pytest.raises(Cancelled):
        compute_features(torch.rand(10, 3, 4, 4), Mean(), abort=lambda: True)


# -- InceptionV3 weights ---------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty torch hub cache and every download path wired to fail loudly."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    for owner, attr in [(torch.hub, "download_url_to_file"), (torch.hub, "load_state_dict_from_url"),
                        (tf_inception, "load_state_dict_from_url"), (urllib.request, "urlopen"),
                        (socket.socket, "connect")]:
        monkeypatch.setattr(owner, attr, refuse)
    return tmp_path / "hub" / "checkpoints"


def test_missing_inception_weights_name_the_file_and_the_setting(no_network):
    with pytest.raises(UserError) as info:
        load_features("inception")
    message = str(info.value)
    assert "\n" not in message
    assert "weights-inception-2015-12-05-6726825d.pth" in message
    assert "weights.inception" in message and str(no_network) in message


def test_inception_setting_pointing_at_a_missing_file(no_network, tmp_path):
    Settings.load().set("weights.inception", str(tmp_path / "nowhere.pth"))
    with pytest.raises(UserError, match=r"nowhere\.pth.*weights\.inception"):
        load_features("inception")


@pytest.fixture(scope="module")
def fake_inception_weights(tmp_path_factory):
    """Randomly initialised weights with the FID network's keys and shapes (the real file cannot be fetched)."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    cls = tf_inception.FeatureExtractorInceptionV3
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(cls, "load_state_dict", lambda self, state: None)
        net = cls("random", ["2048"])
    state = net.state_dict()
    for value in state.values():
        if value.ndim == 4:
            value.mul_(3**0.5)  # conv weights scaled up so that 2048-d features do not vanish to ~1e-8
    path = tmp_path_factory.mktemp("weights") / "weights-inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    return path


def test_inception_weights_found_in_hub_cache_then_setting(no_network, fake_inception_weights):
    from genstudio.metrics.inception import find_inception_weights

    no_network.mkdir(parents=True)
    cached = no_network / fake_inception_weights.name
    cached.symlink_to(fake_inception_weights)
    assert find_inception_weights() == cached
    Settings.load().set("weights.inception", str(fake_inception_weights))  # the setting wins over the cache
    assert find_inception_weights() == fake_inception_weights


def test_inception_runs_on_any_size_and_gray_images(no_network, fake_inception_weights):
    Settings.load().set("weights.inception", str(fake_inception_weights))
    extractor = load_features("inception")
    assert extractor.dim == 2048 and extractor.name == "inception-v3-pool3"
    assert extractor(torch.rand(1, 1, 40, 30)).shape == (1, 2048)  # grayscale -> RGB, PIL resize to 299


def test_inception_features_equal_torchmetrics_with_the_same_weights(no_network, fake_inception_weights):
    """torchmetrics' FID network (NoTrainInceptionV3) gives the same features as ours for the same weights."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    from genstudio.metrics.inception import InceptionFeatures

    theirs = NoTrainInceptionV3("fid", ["2048"], str(fake_inception_weights), antialias=False)
    ours = InceptionFeatures(fake_inception_weights, resize="network")
    u8 = torch.randint(0, 256, (1, 3, 64, 48), dtype=torch.uint8)  # the network resizes: TF1-style bilinear
    assert torch.equal(ours(u8.float() / 255), theirs(u8))
    u8 = torch.randint(0, 256, (1, 3, 299, 299), dtype=torch.uint8)  # no resize: every option agrees
    theirs.use_antialias = True  # torchmetrics' default
    ours.resize = "pil-bicubic"  # ours
    assert torch.allclose(ours(u8.float() / 255), theirs(u8), rtol=1e-5, atol=1e-6)


def test_inception_weights_holding_code_are_refused(no_network, tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv": Settings(tmp_path)}, path)  # a pickled object, not tensors: weights_only refuses it
    with pytest.raises(UserError, match="unreadable"):
        load_features("inception", weights=path)


# -- imports ---------------------------------------------------------------------------------------------------


def test_importing_metrics_does_not_import_torch():
    code = "import sys, genstudio.metrics as m; assert callable(m.__getattr__); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_inception_logits_for_the_inception_score(no_network, fake_inception_weights):
    """The Inception Score reads the FID network's logits (torch-fidelity's "logits_unbiased"), from the same
    local weights file as FID; the score over them is torch-fidelity's."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from torch_fidelity.metric_isc import isc_features_to_metric

    from genstudio.metrics.distances import inception_score
    from genstudio.metrics.evaluate import evaluate
    from genstudio.metrics.features import classifier_for, load_classifier
    from genstudio.metrics.inception import InceptionLogits

    Settings.load().set("weights.inception", str(fake_inception_weights))
    logits = load_classifier("inception")
    assert isinstance(logits, InceptionLogits) and logits.dim == 1008 and logits.name == "inception-v3-logits"
    assert isinstance(classifier_for(load_features("inception")), InceptionLogits)
    images = torch.rand(12, 3, 299, 299)
    scores = logits(images)
    assert scores.shape == (12, 1008)
    theirs = FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased"],
                                         feature_extractor_weights_path=str(fake_inception_weights))
    assert torch.allclose(scores, theirs((images * 255).round().to(torch.uint8))[0], atol=1e-5)
    mean, std = inception_score(scores)
    expected = isc_features_to_metric(scores, splits=10)
    assert (mean, std) == (expected["inception_score_mean"], expected["inception_score_std"]) and mean >= 1.0
    result = evaluate(torch.rand(12, 3, 32, 32), torch.rand(12, 3, 32, 32), "inception", metrics=("is",))
    assert set(result) == {"is", "is_std"} and result["is"] >= 1.0
