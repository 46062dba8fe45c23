"""Input collection and path safety; tiled processing that blends seams away."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.batch.inputs import Item, collect, output_path
from genstudio.batch.tiles import ramp, run_tiled, starts
from genstudio.errors import UserError


def test_symlinks_out_of_the_root_are_not_followed(tmp_path):
    root, outside = tmp_path / "in", tmp_path / "secret"
    root.mkdir()
    outside.mkdir()
    Image.new("RGB", (4, 4)).save(outside / "private.png")
    Image.new("RGB", (4, 4)).save(root / "mine.png")
    os.symlink(outside / "private.png", root / "link.png")
    os.symlink(outside, root / "linked-folder")
    items, skipped = collect([root], tmp_path / "out", recursive=True)
    assert [str(item.relative) for item in items] == ["mine.png"]
    assert {os.path.basename(b.path): b.reason for b in skipped} == {
        "link.png": "symlink to a file outside the input folder",
        "linked-folder": "symlink to a folder outside the input folder",
    }


def test_output_folder_inside_the_input_is_not_read(tmp_path):
    root = tmp_path / "in"
    (root / "out").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(root / "a.png")
    Image.new("RGB", (4, 4)).save(root / "out" / "a.png")
    items, _ = collect([root], root / "out", recursive=True)
    assert [str(item.relative) for item in items] == ["a.png"]


def test_several_inputs_keep_their_folder_names_and_glob(tmp_path):
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (4, 4)).save(tmp_path / name / "same.png")
        Image.new("RGB", (4, 4)).save(tmp_path / name / "other.jpg")
    items, _ = collect([tmp_path / "x", tmp_path / "y"], tmp_path / "out", pattern="*.png")
    assert sorted(str(item.relative) for item in items) == ["x/same.png", "y/same.png"]
    with pytest.raises(UserError, match="input not found"):
        collect([tmp_path / "nope"], tmp_path / "out")


def test_output_paths_cannot_escape(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert output_path(out, Item(tmp_path / "a.jpg", Path("sub/a.jpg")), "png") == out.resolve() / "sub" / "a.png"
    with pytest.raises(UserError, match="outside the output folder"):
        output_path(out, Item(tmp_path / "a.png", Path("../escape.png")), "png")
    with pytest.raises(UserError, match="outside the output folder"):
        output_path(out, Item(tmp_path / "a.png", Path("/etc/evil.png")), "png")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", out / "trap")  # a planted link inside --out
    with pytest.raises(UserError, match="outside the output folder"):
        output_path(out, Item(tmp_path / "a.png", Path("trap/a.png")), "png")
    with pytest.raises(UserError, match="unknown output format"):
        output_path(out, Item(tmp_path / "a.png", Path("a.png")), "gif")


def test_tile_starts_cover_and_ramps_sum_to_one():
    positions = starts(300, 128, 32)
    assert positions[0] == 0 and positions[-1] == 300 - 128
    total = np.zeros(300)
    for start in positions:
        weight = ramp(start, 128, 300, positions)
        total[start:start + len(weight)] += weight
    assert (total > 0).all()
    assert starts(100, 128, 32) == [0]


def test_tiled_pointwise_equals_untiled():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    result = run_tiled(image, lambda x: 1 - x, tile=128, overlap=32)
    assert np.abs(result.astype(int) - (255 - image.astype(int))).max() <= 1


def test_tiled_convolution_has_no_seams():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (260, 260, 3), dtype=np.uint8)
    blur = torch.nn.Conv2d(3, 3, 5, padding=2, padding_mode="replicate", bias=False, groups=3)
    blur.weight.data.fill_(1 / 25)
    with torch.no_grad():
        whole = blur(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)[0]
    whole = (whole.clamp(0, 1) * 255).round().permute(1, 2, 0).numpy()
    from genstudio.batch.torch_edge import on_tensors

    tiled = run_tiled(image, on_tensors(blur), tile=96, overlap=24).astype(float)
    # inside the image the receptive field (2 px) stays within every tile's overlap: only rounding differs
    assert np.abs(tiled - whole)[4:-4, 4:-4].max() <= 2
