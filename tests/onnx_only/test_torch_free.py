"""The torch-free path: an ONNX-only backend (the example plugin's tinystyle, installed as users install it) and a
model folder whose checked export runs, stylized, resumed, read and reproduced in fresh processes that never
import torch. Each run reports `"torch" in sys.modules` after the command finished."""

from __future__ import annotations

import hashlib

import pytest

from genstudio.provenance import read_provenance

from .conftest import EXAMPLE, pixels

GRAPH_SHA256 = hashlib.sha256(
    (EXAMPLE / "genstudio_example" / "graphs" / "tinystyle.onnx").read_bytes()).hexdigest()
OUTPUTS = ["a.png", "b.png", "c.png", "sub/d.png"]


def test_an_onnx_only_backend_stylizes_resumes_and_reproduces_without_torch(genstudio, photos, tmp_path):
    out = tmp_path / "out"
    first = genstudio("stylize", "tinystyle", photos, "--recursive", "--out", out, "--style", "moss", "--json")
    assert (first.code, first.torch) == (0, False), first.errors
    assert first.json()["written"] == 4
    for name in OUTPUTS:
        record = read_provenance(out / name)
        assert record["runtime"] == "onnx" and record["backend"] == "tinystyle" and record["plugin"] == "example"
        assert record["model_sha256"] == GRAPH_SHA256 and record["weights"] == {"tinystyle": GRAPH_SHA256}
        assert record["parameters"]["style"] == "moss" and record["model"] == "tinystyle"
    again = genstudio("stylize", "tinystyle", photos, "--recursive", "--out", out, "--style", "moss", "--json")
    assert (again.code, again.torch) == (0, False)
    assert (again.json()["written"], again.json()["up_to_date"]) == (0, 4)  # resumed: nothing redone

    info = genstudio("info", out / "sub" / "d.png", "--json")
    assert (info.code, info.torch) == (0, False) and info.json()["weights"] == {"tinystyle": GRAPH_SHA256}
    remade = genstudio("reproduce", out / "sub" / "d.png", "--out", tmp_path / "again.png", "--json")
    assert (remade.code, remade.torch) == (0, False), remade.errors
    assert remade.json()["identical"] and remade.json()["runtime"] == "onnx"


def test_styles_by_name_index_and_blend_each_give_their_own_pixels(genstudio, photos, tmp_path):
    made = {}
    for given, recorded in (("moss", "moss"), ("2", "moss"), ("ember", "ember"),
                            ("ember:1,glacier:3", "ember:0.25,glacier:0.75")):
        out = tmp_path / given.replace(":", "_").replace(",", "+")
        result = genstudio("stylize", "tinystyle", photos / "a.jpg", "--out", out, "--style", given)
        assert (result.code, result.torch) == (0, False), result.errors
        assert read_provenance(out / "a.png")["parameters"]["style"] == recorded
        made[given] = pixels(out / "a.png")
    assert (made["moss"] == made["2"]).all()
    assert (made["moss"] != made["ember"]).any() and (made["ember"] != made["ember:1,glacier:3"]).any()
    blend = tmp_path / "blend"
    remade = genstudio("reproduce", next(p for p in tmp_path.glob("ember_1*/a.png")), "--out", blend / "a.png")
    assert remade.code == 0 and "identical pixels" in remade.stdout


@pytest.mark.parametrize("args, message", [
    (["--style", "sepia"], "--style must be one of ember, glacier, moss, dusk or an index 0..3"),
    (["--style", "7"], "--style must be one of"),
    (["--style", "ember:-1"], "weights must be finite and >= 0"),
    (["--runtime", "torch"], "is ONNX-only (plugin example): it runs on onnxruntime; drop --runtime torch"),
    (["--preserve-color"], "cannot preserve the content's colours"),
    (["--direction", "a2b"], "takes no --direction"),
])
def test_what_it_cannot_do_is_one_line(genstudio, photos, tmp_path, args, message):
    result = genstudio("stylize", "tinystyle", photos / "a.jpg", "--out", tmp_path / "out", *args)
    assert result.code == 2 and not result.torch
    assert len(result.errors) == 1 and message in result.errors[0], result.errors


def test_tiles_run_on_numpy_too(genstudio, tmp_path):
    import numpy as np
    from PIL import Image

    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (150, 170, 3), dtype=np.uint8)).save(big)
    whole = genstudio("stylize", "tinystyle", big, "--out", tmp_path / "whole")
    tiled = genstudio("stylize", "tinystyle", big, "--out", tmp_path / "tiled", "--tile", "64", "--overlap", "16")
    assert (whole.code, tiled.code, tiled.torch) == (0, 0, False)
    difference = np.abs(pixels(tmp_path / "whole" / "big.png") - pixels(tmp_path / "tiled" / "big.png"))
    assert difference[4:-4, 4:-4].max() <= 2  # two 3x3 convolutions: the overlap hides every seam


def test_a_replaced_graph_fails_its_sha256_in_one_line(genstudio, photos, tmp_path):
    impostor = tmp_path / "tinystyle.onnx"
    impostor.write_bytes((EXAMPLE / "genstudio_example" / "graphs" / "tinystyle.onnx").read_bytes() + b"\0")
    from genstudio.settings import Settings

    Settings.load().set("weights.tinystyle", str(impostor))  # the setting the WeightsRef names
    result = genstudio("stylize", "tinystyle", photos / "a.jpg", "--out", tmp_path / "out")
    assert result.code == 2 and len(result.errors) == 1
    assert "tinystyle weights" in result.errors[0] and "fail the hash check" in result.errors[0]


def test_an_exported_model_runs_without_torch_and_the_torch_runtime_does_import_it(genstudio, photos, tmp_path,
                                                                                   single_torch_thread):
    """A built-in translator's model folder with a checked export (no torch code around its graph): the ONNX
    runtime never imports torch; --runtime torch does (so the check can fail)."""
    from genstudio.export import export_model
    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("cyclegan")
    config = spec.schema.resolve({"ngf": 4, "blocks": 1, "ndf": 4, "resolution": 32})
    folder = tmp_path / "model"
    save_model(folder, spec, config, spec.load().build(config).state_dict())
    export_model(folder)
    onnx = genstudio("translate", folder, photos, "-r", "--out", tmp_path / "onnx", "--direction", "b2a", site=None)
    assert (onnx.code, onnx.torch) == (0, False), onnx.errors
    record = read_provenance(tmp_path / "onnx" / "sub" / "d.png")
    assert record["runtime"] == "onnx" and record["parameters"]["direction"] == "b2a"
    remade = genstudio("reproduce", tmp_path / "onnx" / "sub" / "d.png", "--out", tmp_path / "d.png", site=None)
    assert (remade.code, remade.torch) == (0, False) and "identical pixels" in remade.stdout
    torch_run = genstudio("translate", folder, photos / "a.jpg", "--out", tmp_path / "torch", "--runtime", "torch",
                          "--direction", "b2a", "--device", "cpu", site=None)
    assert (torch_run.code, torch_run.torch) == (0, True)
    assert (abs(pixels(tmp_path / "torch" / "a.png") - pixels(tmp_path / "onnx" / "a.png")) <= 2).all()
