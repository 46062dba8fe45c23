"""The export, eval and stylize-folder runners called directly (the worker machinery is tested elsewhere)."""

from __future__ import annotations

import genstudio_gan
import pytest
import torch
from PIL import Image

from genstudio.errors import UserError
from genstudio.events import EventCollector
from genstudio.jobs.builtin import run_eval, run_export, run_stylize_folder
from genstudio.models import read_card, save_model


@pytest.fixture
def model(tmp_path, use_plugins):
    found = use_plugins(gan=genstudio_gan)
    spec = found.backend("dcgan")
    config = spec.schema.resolve({"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1})
    save_model(tmp_path / "m", spec, config, spec.load().build(config).state_dict())
    return tmp_path / "m"


def test_export_runner(model, single_torch_thread):
    events = EventCollector()
    result = run_export({"model": str(model)}, events, lambda: False)
    assert result["parity_passed"] and (model / "model.onnx").is_file()
    assert events.of_kind("end")


def test_eval_runner_with_a_user_network(model, tmp_path, single_torch_thread):
    network = tmp_path / "features.pt"
    torch.jit.save(torch.jit.script(torch.nn.Flatten()), str(network))
    real = tmp_path / "real"
    real.mkdir()
    for index in range(6):
        Image.new("L", (32, 32), index * 40).save(real / f"{index}.png")
    report = run_eval({"model": str(model), "data": str(real), "features": str(network), "metrics": "fid",
                       "count": 6}, None, lambda: False)
    assert report["metrics"]["fid"] >= 0 and read_card(model).metrics["evaluations"]


def test_runners_refuse_unknown_parameters(model, tmp_path):
    with pytest.raises(UserError, match="does not take the parameter"):
        run_export({"model": str(model), "colour": "red"}, None, lambda: False)
    with pytest.raises(UserError, match="does not take the parameter"):
        run_stylize_folder({"model": "gatys", "inputs": [], "out": str(tmp_path), "bogus": 1}, None, lambda: False)


def test_a_queued_blend_of_styles_stays_a_blend_and_a_style_file_becomes_absolute(tmp_path, monkeypatch):
    """`style` is a style image's path or a choice input's value: a blend's '.5' is not a file suffix."""
    from genstudio.jobs import runner_spec

    monkeypatch.chdir(tmp_path)
    spec = runner_spec("stylize-folder")
    base = {"model": "tinystyle", "inputs": ["in"], "out": "out"}
    for value in ("ember:0.5,moss:0.5", "ember:1,glacier:3", "moss", "2"):
        assert spec.prepare({**base, "style": value})["style"] == value
    assert spec.prepare({**base, "style": "candy.jpg"})["style"] == str(tmp_path / "candy.jpg")
