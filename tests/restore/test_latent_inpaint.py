"""latent-inpaint (projection into a trained VAE, Bora et al. 2017) through `genstudio restore`: the hole is the
projection's, the rest comes back unchanged; its source is recorded by its weights' sha256, so a changed source
redoes the outputs and `genstudio reproduce` refuses it; wrong sources are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genstudio.errors import UserError
from genstudio.provenance import read_provenance

from .conftest import box_mask, make_folder

FAST = ["--set", "steps=3", "--set", "restarts=2", "--set", "feather=0"]


def invoke(*args, code=0):
    from genstudio.cli import app

    result = CliRunner().invoke(app, [str(arg) for arg in args])
    if code == 2:
        assert isinstance(result.exception, UserError), result.output
        assert "\n" not in str(result.exception)
        return str(result.exception)
    assert result.exit_code == code, result.output
    return result


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def vae_folder(folder, seed: int):
    """An untrained tiny VAE model folder (the projection only needs a decoder; training is not under test)."""
    import torch

    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("vae")
    config = spec.schema.resolve({"resolution": 32, "latent_dim": 4, "width": 4})
    torch.manual_seed(seed)
    return save_model(folder, spec, config, spec.load().build(config).state_dict())


@pytest.fixture
def setup(tmp_path):
    photos = make_folder(tmp_path / "photos", count=2, seed=5)
    card = vae_folder(tmp_path / "vae", seed=0)
    return photos, tmp_path / "vae", card, box_mask(tmp_path / "mask.png")


def test_fills_the_hole_only_and_records_the_source_by_sha256(setup, tmp_path):
    photos, vae, card, mask = setup
    args = ["restore", "latent-inpaint", photos, "--task", "inpaint", "--mask", mask, "--set", f"source={vae}",
            *FAST, "--device", "cpu"]
    invoke(*args, "--out", tmp_path / "out")
    hole = pixels(mask)[..., 0] >= 128
    for source in photos.glob("*.png"):
        made, original = pixels(tmp_path / "out" / source.name), pixels(source)
        assert np.array_equal(made[~hole], original[~hole]) and not np.array_equal(made[hole], original[hole])
        record = read_provenance(tmp_path / "out" / source.name)
        assert record["backend"] == "latent-inpaint" and record["parameters"]["config"]["source"] == str(vae)
        assert record["extra"] == {"source_backend": "vae", "source_sha256": card.weights_sha256}
    result = invoke("reproduce", tmp_path / "out" / "0.png", "--out", tmp_path / "again.png", "--json")
    assert json.loads(result.stdout)["identical"] is True

    # other weights at the same path: the outputs are redone, and the old image no longer reproduces
    vae_folder(vae, seed=1)
    rerun = json.loads(invoke(*args, "--out", tmp_path / "out", "--json").stdout)
    assert rerun["written"] == 2 and rerun["up_to_date"] == 0
    vae_folder(vae, seed=0)
    invoke(*args, "--out", tmp_path / "old")  # the first source back, beside the second source's outputs
    vae_folder(vae, seed=1)
    message = invoke("reproduce", tmp_path / "old" / "0.png", "--out", tmp_path / "no.png", code=2)
    assert "source_sha256 differs" in message


def test_sources_that_cannot_be_projected_into_are_one_line(setup, tmp_path):
    photos, _, _, mask = setup
    base = ["restore", "latent-inpaint", photos, "--task", "inpaint", "--mask", mask, "--out", tmp_path / "o"]
    assert "pass --set source=MODEL_FOLDER" in invoke(*base, code=2)
    not_a_model = make_folder(tmp_path / "r", count=1)
    assert "model.json is missing" in invoke(*base, "--set", f"source={not_a_model}", code=2)
    from genstudio_restore.backend import RestoreBackend

    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("restore")
    config = spec.schema.resolve({"size": "lite", "width": 4})
    save_model(tmp_path / "restorer", spec, config, RestoreBackend.build(config).state_dict())
    message = invoke(*base, "--set", f"source={tmp_path / 'restorer'}", code=2)
    assert "is a restorer; it needs a generator or an autoencoder" in message
    message = invoke("restore", "latent-inpaint", photos, "--task", "denoise", "--set", f"source={tmp_path / 'vae'}",
                     "--out", tmp_path / "o", code=2)
    assert "--task must be one of inpaint" in message
