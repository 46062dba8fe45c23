"""`genstudio eval` and evaluate_model: metrics of a model folder against real images, stored in model.json."""

from __future__ import annotations

import json
import math

import genstudio_gan
import pytest
import torch
from PIL import Image
from torch import nn

from genstudio.errors import UserError
from genstudio.metrics.model_eval import evaluate_model, parse_metrics
from genstudio.models import read_card, save_model


class MeanColour(nn.Module):
    """Features: per-channel means and stds of 4 x 4 blocks, enough to tell image sets apart."""

    def forward(self, x):
        pooled = nn.functional.adaptive_avg_pool2d(x, 4)
        return torch.cat([pooled.flatten(1), x.flatten(2).std(-1)], 1)


@pytest.fixture
def features_file(tmp_path):
    path = tmp_path / "features.pt"
    torch.jit.save(torch.jit.script(MeanColour()), str(path))
    return path


@pytest.fixture
def registry(use_plugins):
    return use_plugins(gan=genstudio_gan)


@pytest.fixture
def model(registry, tmp_path):
    spec = registry.backend("dcgan")
    config = spec.schema.resolve({"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 3})
    torch.manual_seed(0)
    save_model(tmp_path / "m", spec, config, spec.load().build(config).state_dict())
    return tmp_path / "m"


@pytest.fixture
def real_folder(tmp_path):
    folder = tmp_path / "real"
    folder.mkdir()
    generator = torch.Generator().manual_seed(1)
    for index in range(24):
        pixels = (torch.rand(32, 32, 3, generator=generator) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"{index}.png")
    return folder


def test_evaluate_a_generator_with_a_user_feature_network(model, real_folder, features_file, single_torch_thread):
    report = evaluate_model(model, real_folder, features=str(features_file), metrics="fid,kid,precision,recall",
                            count=20, device="cpu")
    results = report["metrics"]
    assert set(results) == {"fid", "kid", "kid_std", "precision", "recall"}
    assert results["fid"] > 0 and math.isfinite(results["fid"])
    assert 0 <= results["precision"] <= 1 and 0 <= results["recall"] <= 1
    assert report["real_images"] == 24 and report["generated_images"] == 20
    stored = read_card(model).metrics
    # not Inception: the keys say which network, so they are never mistaken for standard FIDs
    assert stored["fid@torchscript:features.pt"] == results["fid"] and "fid" not in stored
    assert stored["evaluations"][-1]["metrics"] == results


def test_same_seed_same_scores_and_no_save(model, real_folder, features_file, single_torch_thread):
    a = evaluate_model(model, real_folder, features=str(features_file), metrics="fid", count=12, device="cpu",
                       save=False, batch_size=5)
    b = evaluate_model(model, real_folder, features=str(features_file), metrics="fid", count=12, device="cpu",
                       save=False, batch_size=12)
    assert a["metrics"]["fid"] == pytest.approx(b["metrics"]["fid"], rel=1e-6)
    assert read_card(model).metrics == {}


def test_metric_names_are_checked(model, real_folder):
    assert parse_metrics(None, likelihood=False) == ["fid", "kid", "precision", "recall", "is"]
    assert parse_metrics(None, likelihood=False, features="mine.onnx") == ["fid", "kid", "precision", "recall"]
    assert parse_metrics(None, likelihood=True)[:2] == ["elbo", "nll"]
    with pytest.raises(UserError, match="unknown metric 'fjd'"):
        parse_metrics("fid,fjd", likelihood=False)
    with pytest.raises(UserError, match="needs an autoencoder"):
        evaluate_model(model, real_folder, metrics="nll", device="cpu")


def test_cli_eval_json_and_missing_inception(run_cli, tmp_path, features_file):
    from genstudio.plugins import get_registry

    spec = get_registry().backend("dcgan")
    config = spec.schema.resolve({"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1})
    save_model(tmp_path / "cm", spec, config, spec.load().build(config).state_dict())
    real = tmp_path / "digits"
    real.mkdir()
    for index in range(10):
        Image.new("L", (8, 8), index * 25).save(real / f"{index}.png")
    result = run_cli("eval", str(tmp_path / "cm"), "--data", str(real), "--features", str(features_file),
                     "--metrics", "fid,kid", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["metrics"]) == {"fid", "kid", "kid_std"} and report["features"] == "torchscript:features.pt"
    missing = run_cli("eval", str(tmp_path / "cm"), "--data", str(real), env={"TORCH_HOME": str(tmp_path / "th")})
    assert missing.returncode == 2
    assert "weights.inception" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
