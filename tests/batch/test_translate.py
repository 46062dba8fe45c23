"""The translator kind is usable: `genstudio translate`, a translate-folder job and `genstudio reproduce` run a
two-way translator through the same pipeline, with its declared direction input checked and recorded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio import BackendKind, BackendSpec, InputKind, InputSpec, UserError, hookimpl
from genstudio.provenance import read_provenance


class Swap(torch.nn.Module):
    """a2b inverts the colours, b2a halves them: two visibly different directions."""

    def translate(self, x, direction=None):
        assert x.dim() == 4 and x.shape[1] == 3, "translators get N x 3 x H x W"
        return 1 - x if direction == "a2b" else x * 0.5


class SwapBackend:
    @staticmethod
    def build(config):
        return Swap()


class SwapPlugin:
    __version__ = "0.1"

    @hookimpl
    def register_backends(self):
        return [BackendSpec("swap", BackendKind.TRANSLATOR, "Swap", "Inverts one way, halves the other.",
                            f"{__name__}:SwapBackend",
                            inputs=(InputSpec(InputKind.DIRECTION, choices=("a2b", "b2a"),
                                              help="a2b inverts, b2a halves"),))]


@pytest.fixture
def swap(use_plugins):
    return use_plugins(swap=SwapPlugin())


def pictures(folder, count=2):
    folder.mkdir(parents=True)
    for index in range(count):
        Image.new("RGB", (20, 12), (40 + 80 * index, 100, 200)).save(folder / f"{index}.png")
    return folder


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def test_translate_command_job_and_reproduce_agree(swap, tmp_path):
    from genstudio.cli import app
    from genstudio.jobs.builtin import run_stylize_folder
    from genstudio.reproduce import reproduce

    source = pictures(tmp_path / "in")
    result = CliRunner().invoke(app, ["translate", "swap", str(source), "--out", str(tmp_path / "cli"),
                                      "--direction", "b2a"])
    assert result.exit_code == 0, result.output
    job = run_stylize_folder({"model": "swap", "inputs": [str(source)], "out": str(tmp_path / "job"),
                              "direction": "b2a"}, lambda event: None, lambda: False)
    assert job["written"] == 2
    for name in ("0.png", "1.png"):
        made, queued = tmp_path / "cli" / name, tmp_path / "job" / name
        assert np.array_equal(pixels(made), pixels(queued))
        assert np.abs(pixels(made) - pixels(source / name) // 2).max() <= 1  # halved: the b2a direction ran
        record = read_provenance(made)
        assert record["operation"] == "translate" and record["parameters"]["direction"] == "b2a"
        assert {k: v for k, v in record.items() if k != "time"} == {
            k: v for k, v in read_provenance(queued).items() if k != "time"}
    again = reproduce(tmp_path / "cli" / "1.png", tmp_path / "again.png")
    assert again.identical and again.operation == "translate"


def test_direction_default_and_refusals(swap, tmp_path):
    from genstudio.batch.stylize import stylize_folder

    source = pictures(tmp_path / "in", count=1)
    summary = stylize_folder("swap", [source], tmp_path / "out")  # the first choice, a2b
    assert summary.written == 1
    assert np.abs(pixels(tmp_path / "out" / "0.png") - (255 - pixels(source / "0.png"))).max() <= 1
    with pytest.raises(UserError, match="--direction must be one of a2b, b2a"):
        stylize_folder("swap", [source], tmp_path / "x", direction="sideways")
    with pytest.raises(UserError, match="takes no --style"):
        stylize_folder("swap", [source], tmp_path / "x", style=source / "0.png")
    with pytest.raises(UserError, match="translator"):
        stylize_folder("swap", [source], tmp_path / "x", strength=0.5)
