"""`genstudio reproduce` on stylized outputs: the recorded input, style, model, runtime and batch settings make the
same pixels again, in the original's format; moved or altered files are found with --input or refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.batch.stylize import stylize_folder
from genstudio.batch.writer import provenance_of
from genstudio.errors import UserError
from genstudio.export import export_model
from genstudio.models import save_model
from genstudio.plugins import get_registry
from genstudio.reproduce import reproduce


@pytest.fixture
def fast_style_model(tmp_path):
    spec = get_registry().backend("fast-style")
    config = spec.schema.resolve({"size": "lite"})
    torch.manual_seed(0)
    save_model(tmp_path / "model", spec, config, spec.load().build(config).state_dict())
    export_model(tmp_path / "model")
    return tmp_path / "model"


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(tmp_path / "in" / "a.png")
    Image.fromarray(rng.integers(0, 256, (150, 90, 3), dtype=np.uint8)).save(tmp_path / "in" / "sub" / "big.jpg")
    return tmp_path / "in"


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_stylized_png_and_tiled_outputs_reproduce_identically(fast_style_model, photos, tmp_path, runtime,
                                                              single_torch_thread):
    summary = stylize_folder(str(fast_style_model), [photos], tmp_path / "out", runtime=runtime, strength=0.8,
                             max_size=120, tile=64, overlap=8, recursive=True)
    assert summary.written == 2
    big = tmp_path / "out" / "sub" / "big.png"
    record, fmt = provenance_of(big)
    assert fmt == "png" and record["batch"]["tile"] == 64 and record["batch"]["max_size"] == 120
    assert record["input"] == str(photos / "sub" / "big.jpg") and record["runtime"] == runtime
    for name in ("a.png", "sub/big.png"):
        result = reproduce(tmp_path / "out" / name, tmp_path / "again" / name.replace("/", "-"))
        assert result.identical and result.max_difference == 0 and result.operation == "stylize"
        assert result.runtime == runtime
    # the scratch folder beside --out is gone: nothing but the reproductions was written
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["a.png", "sub-big.png"]


def test_a_different_tile_setting_would_change_the_pixels(fast_style_model, photos, tmp_path, single_torch_thread):
    """Guards the test above: the recorded tiling matters, so reproducing without it could not pass by luck."""
    tiled = stylize_folder(str(fast_style_model), [photos / "sub"], tmp_path / "tiled", tile=64, overlap=8)
    whole = stylize_folder(str(fast_style_model), [photos / "sub"], tmp_path / "whole")
    assert tiled.written == whole.written == 1
    a = np.asarray(Image.open(tmp_path / "tiled" / "big.png"), dtype=int)
    b = np.asarray(Image.open(tmp_path / "whole" / "big.png"), dtype=int)
    assert np.abs(a - b).max() > 0


def test_jpeg_output_reproduces_through_its_sidecar(fast_style_model, photos, tmp_path, single_torch_thread):
    stylize_folder(str(fast_style_model), [photos / "a.png"], tmp_path / "out", fmt="jpg", quality=80)
    original = tmp_path / "out" / "a.jpg"
    record, fmt = provenance_of(original)
    assert fmt == "jpg" and record["batch"]["quality"] == 80
    result = reproduce(original, tmp_path / "again.jpg")
    assert result.identical
    assert (tmp_path / "again.jpg.json").is_file()
    with pytest.raises(UserError, match="original's format"):
        reproduce(original, tmp_path / "again.png")


def test_moved_or_altered_inputs(fast_style_model, photos, tmp_path, single_torch_thread):
    stylize_folder(str(fast_style_model), [photos / "a.png"], tmp_path / "out")
    output = tmp_path / "out" / "a.png"
    moved = tmp_path / "elsewhere.png"
    shutil.move(photos / "a.png", moved)
    with pytest.raises(UserError, match="--input"):
        reproduce(output, tmp_path / "r1.png")
    assert reproduce(output, tmp_path / "r2.png", source=str(moved)).identical
    Image.fromarray(np.zeros((40, 52, 3), np.uint8)).save(tmp_path / "other.png")
    with pytest.raises(UserError, match="sha256 differs"):
        reproduce(output, tmp_path / "r3.png", source=str(tmp_path / "other.png"))


def test_moving_the_input_folder_keeps_outputs_up_to_date(fast_style_model, photos, tmp_path, single_torch_thread):
    first = stylize_folder(str(fast_style_model), [photos], tmp_path / "out", recursive=True)
    renamed = shutil.move(photos, tmp_path / "renamed")
    again = stylize_folder(str(fast_style_model), [renamed], tmp_path / "out", recursive=True)
    assert first.written == 2 and again.written == 0 and again.up_to_date == 2
