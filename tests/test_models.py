"""Model folders: round trip, atomic writes, and each rejection with its one-line message."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import save_file

from genstudio import models
from genstudio.errors import ModelFileError, UserError
from genstudio.fileio import sha256_file
from genstudio.plugins import discover

from .toys import write_toy_backend


@pytest.fixture
def registry(tmp_path, monkeypatch):
    write_toy_backend(tmp_path / "code", tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    return discover(entry_points=False, plugin_dir=tmp_path / "plugins", disabled=set())


@pytest.fixture
def saved(tmp_path, registry):
    """A toy model saved to tmp/model; returns (folder, original state_dict)."""
    spec = registry.backend("toy")
    torch.manual_seed(0)
    module = spec.load().build(spec.schema.resolve({"hidden": 5}))
    folder = tmp_path / "model"
    models.save_model(folder, spec, {"hidden": 5}, module.state_dict(), data={"images": 10}, extra={"note": "x"})
    return folder, {k: v.clone() for k, v in module.state_dict().items()}


def rewrite_card(folder, **changes):
    path = folder / models.CARD_FILE
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


def rewrite_weights(folder, tensors):
    save_file(tensors, folder / models.WEIGHTS_FILE)
    rewrite_card(folder, weights_sha256=sha256_file(folder / models.WEIGHTS_FILE))


def test_round_trip(saved, registry):
    folder, state = saved
    assert sorted(os.listdir(folder)) == ["model.json", "weights.safetensors"]  # no temp files left
    loaded = models.load_model(folder, registry=registry)
    assert loaded.card.backend == "toy"
    assert loaded.card.plugin == "toyplugin" and loaded.card.plugin_version == "1.2.3"
    assert loaded.card.config == {"latent_dim": 3, "hidden": 5, "broken_kind": False}
    assert loaded.card.data == {"images": 10} and loaded.card.extra == {"note": "x"}
    assert loaded.card.schema_version == models.SCHEMA_VERSION
    assert not loaded.module.training
    for name, tensor in loaded.module.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    image = loaded.module.generate(torch.zeros(2, 3))
    assert image.shape == (2, 1, 4, 4)


def test_read_card_needs_no_torch(saved):
    import subprocess
    import sys

    folder, _ = saved
    code = (f"import sys; from genstudio.models import read_card; read_card({str(folder)!r}); "
            "assert 'torch' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_load_never_uses_pickle(saved, registry, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("model loading must not unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    models.load_model(saved[0], registry=registry)


def test_update_card_changes_metrics_atomically(saved):
    folder, _ = saved
    models.update_card(folder, metrics={"fid": 12.5})
    assert models.read_card(folder).metrics == {"fid": 12.5}
    with pytest.raises(ValueError):
        models.update_card(folder, nonsense=1)


def test_config_upgrade_hook_is_applied(saved, registry):
    folder, _ = saved
    card = json.loads((folder / models.CARD_FILE).read_text())
    config = dict(card["config"])
    config["width"] = config.pop("hidden")  # as an older plugin version wrote it
    rewrite_card(folder, config=config, plugin_version="0.1")
    assert models.load_model(folder, registry=registry).card.config["hidden"] == 5


def test_save_refuses_nan_weights(tmp_path, registry):
    spec = registry.backend("toy")
    module = spec.load().build(spec.schema.resolve({}))
    state = module.state_dict()
    state["net.0.weight"][0, 0] = float("nan")
    with pytest.raises(UserError, match="NaN or Inf"):
        models.save_model(tmp_path / "m", spec, {}, state)
    assert not (tmp_path / "m" / models.CARD_FILE).exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / models.CARD_FILE).unlink(), "model.json is missing"),
        (lambda f: (f / models.CARD_FILE).write_text("{oops"), "not valid JSON"),
        (lambda f: (f / models.CARD_FILE).write_text("[1, 2]"), "must hold a JSON object"),
        (lambda f: rewrite_card(f, schema_version=99), "newer than this genstudio understands"),
        (lambda f: rewrite_card(f, schema_version="one"), "unknown schema_version"),
        (lambda f: rewrite_card(f, schema_version=0), "unknown schema_version"),
        (lambda f: rewrite_card(f, weights_sha256=None) or _drop_key(f, "weights_sha256"), "lacks weights_sha256"),
        (lambda f: rewrite_card(f, backend="stylegan9"), "needs backend 'stylegan9'.*not available"),
        (lambda f: rewrite_card(f, config={"hidden": "wide"}), "config does not fit backend 'toy'.*hidden"),
        (lambda f: rewrite_card(f, config={"mystery": 1}), "unknown setting 'mystery'"),
        (lambda f: (f / models.WEIGHTS_FILE).unlink(), "weights.safetensors is missing"),
        (lambda f: (f / models.WEIGHTS_FILE).write_bytes(b"\x00" * 64), "does not match the sha256"),
    ],
)
def test_rejections(saved, registry, damage, message):
    folder, _ = saved
    damage(folder)
    with pytest.raises(ModelFileError, match=message) as info:
        models.load_model(folder, registry=registry)
    assert "\n" not in str(info.value)


def _drop_key(folder, key):
    path = folder / models.CARD_FILE
    card = json.loads(path.read_text())
    card.pop(key)
    path.write_text(json.dumps(card))


def test_not_a_folder(tmp_path, registry):
    with pytest.raises(ModelFileError, match="is not a folder"):
        models.load_model(tmp_path / "nowhere", registry=registry)


def test_garbage_weights_with_matching_hash(saved, registry):
    folder, _ = saved
    (folder / models.WEIGHTS_FILE).write_bytes(b"this is not safetensors at all")
    rewrite_card(folder, weights_sha256=sha256_file(folder / models.WEIGHTS_FILE))
    with pytest.raises(ModelFileError, match="not a valid safetensors file"):
        models.load_model(folder, registry=registry)


def test_nan_weights_rejected(saved, registry):
    folder, state = saved
    state["net.2.bias"][1] = float("inf")
    rewrite_weights(folder, state)
    with pytest.raises(ModelFileError, match="'net.2.bias' holds NaN or Inf"):
        models.load_model(folder, registry=registry)


def test_shape_mismatch_rejected(saved, registry):
    folder, _ = saved
    rewrite_card(folder, config={"hidden": 6})  # the backend now builds 6 hidden units; the file has 5
    with pytest.raises(ModelFileError, match=r"'net.0.weight' has shape \(5, 3\), the backend expects \(6, 3\)"):
        models.load_model(folder, registry=registry)


def test_missing_and_unexpected_tensors_rejected(saved, registry):
    folder, state = saved
    rewrite_weights(folder, {k: v for k, v in state.items() if k != "net.2.weight"})
    with pytest.raises(ModelFileError, match="lacks tensors the backend needs: net.2.weight"):
        models.load_model(folder, registry=registry)
    rewrite_weights(folder, {**state, "extra.weight": torch.zeros(1)})
    with pytest.raises(ModelFileError, match="does not know: extra.weight"):
        models.load_model(folder, registry=registry)


def test_module_breaking_its_kind_contract(tmp_path, registry):
    spec = registry.backend("toy")
    module = spec.load().build(spec.schema.resolve({"broken_kind": True}))
    models.save_model(tmp_path / "m", spec, {"broken_kind": True}, module.state_dict())
    with pytest.raises(UserError, match="does not provide the generator contract"):
        models.load_model(tmp_path / "m", registry=registry)
