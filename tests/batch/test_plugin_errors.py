"""A plugin's own bug in the folder batch: it costs the file it failed on (named as the plugin's failure, with
its traceback in the report), the batch goes on; a UserError keeps its own line; out of memory costs one file;
Cancelled and Ctrl-C still stop. On the command line the traceback is printed only with --debug."""

from __future__ import annotations

import json
import pickle
import sys

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio import BackendKind, BackendSpec, hookimpl
from genstudio.batch.inputs import collect
from genstudio.batch.pipeline import run_batch
from genstudio.errors import Cancelled, PluginError, UserError

from .conftest import invert_processor

OWNER = ("genstudio_style", "gatys")


def reds(root, count=4, size=(16, 16)):
    """`count` images whose red channel rises with the index: 0.png is black, the last the reddest."""
    root.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.new("RGB", size, (index * 255 // (count - 1), 0, 0)).save(root / f"{index}.png")
    return root


def is_reddest(batch: torch.Tensor) -> bool:
    return bool((batch[:, 0, 0, 0] > 0.9).any())


def processor_raising(exc_factory, when=is_reddest, max_batch=4, owner=OWNER, calls=None):
    processor = invert_processor(calls, max_batch=max_batch)
    processor.owner = owner
    inner = processor.run

    def run(batch):
        if when(batch):
            raise exc_factory()
        return inner(batch)

    processor.run = run
    return processor


def run(root, out, processor, **options):
    items, passed_over = collect([root], out, recursive=True)
    return run_batch(items, processor, out, passed_over=passed_over, **options)


# -- PluginError itself ------------------------------------------------------------------------------------------


def test_plugin_error_is_one_line_keeps_the_traceback_and_is_not_a_user_error():
    def faulty():
        return 1 / 0

    try:
        faulty()
    except ZeroDivisionError as exc:
        error = PluginError.from_exception(exc, "genstudio_style", "gatys")
    assert str(error) == "plugin genstudio_style (backend gatys) failed: ZeroDivisionError: division by zero"
    assert not isinstance(error, UserError) and error.exit_code == 3
    assert isinstance(error.error, ZeroDivisionError) and error.__cause__ is error.error
    assert "Traceback" in error.traceback and "faulty" in error.traceback
    assert (error.plugin, error.backend) == ("genstudio_style", "gatys")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.traceback == error.traceback
    multi_line = PluginError("", "", RuntimeError("first\nsecond"))
    assert str(multi_line) == "plugin failed: RuntimeError: first"
    assert str(PluginError("p", "", KeyError())) == "plugin p failed: KeyError"


# -- the pipeline ------------------------------------------------------------------------------------------------


def test_plugin_bug_costs_one_file_with_its_traceback(tmp_path):
    root = reds(tmp_path / "in")

    def explode_on_red(batch):
        scale = 1 / (0 if is_reddest(batch) else 1)  # the plugin's bug: ZeroDivisionError on the reddest image
        return 1 - batch * scale

    processor = invert_processor(max_batch=4)
    processor.owner = OWNER
    processor.run = explode_on_red
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    summary = run(root, out, processor, report_file=report)  # all four in one batch: retried one by one
    assert summary.written == 3 and summary.exit_code == 1 and not summary.cancelled
    [failure] = summary.failed
    assert failure["path"].endswith("3.png")
    assert failure["reason"] == "plugin genstudio_style (backend gatys) failed: ZeroDivisionError: division by zero"
    assert "Traceback" in failure["traceback"] and "explode_on_red" in failure["traceback"]
    assert sorted(p.name for p in out.glob("*.png")) == ["0.png", "1.png", "2.png"]
    saved = json.loads(report.read_text())["failed"][0]
    assert saved["reason"] == failure["reason"] and "explode_on_red" in saved["traceback"]


def test_plugin_bug_without_an_owner_and_in_tiles(tmp_path):
    root = reds(tmp_path / "in", count=3, size=(96, 80))
    processor = processor_raising(lambda: AttributeError("'NoneType' object has no attribute 'shape'"),
                                  owner=("", ""))
    summary = run(root, tmp_path / "out", processor, tile=64, overlap=16)
    assert summary.written == 2
    [failure] = summary.failed
    assert failure["reason"] == "plugin failed: AttributeError: 'NoneType' object has no attribute 'shape'"
    assert "Traceback" in failure["traceback"]


def test_a_plugin_returning_garbage_costs_its_files(tmp_path):
    root = reds(tmp_path / "in", count=2)
    processor = invert_processor(max_batch=1)
    processor.owner = OWNER
    processor.run = lambda batch: None  # breaks the contract: no N x C x H x W images
    summary = run(root, tmp_path / "out", processor)
    assert summary.written == 0 and len(summary.failed) == 2
    assert all(f["reason"].startswith("plugin genstudio_style (backend gatys) failed: ValueError: returned an array "
                                      "of shape ()") for f in summary.failed)


def test_user_error_keeps_its_own_line_and_no_traceback(tmp_path):
    root = reds(tmp_path / "in")
    processor = processor_raising(lambda: UserError("this style needs an image at least 32 pixels wide"))
    summary = run(root, tmp_path / "out", processor)
    assert summary.written == 3
    assert summary.failed == [{"path": str(root / "3.png"),
                               "reason": "this style needs an image at least 32 pixels wide"}]


@pytest.mark.parametrize("error", [
    lambda: MemoryError(),
    lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore details"),
    lambda: RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"),
])
def test_out_of_memory_costs_one_file(tmp_path, error):
    root = reds(tmp_path / "in")
    summary = run(root, tmp_path / "out", processor_raising(error))
    assert summary.written == 3 and not summary.cancelled
    [failure] = summary.failed
    assert failure["reason"].startswith("out of memory") and "traceback" not in failure
    assert "\n" not in failure["reason"]


def test_a_batch_out_of_memory_is_retried_one_image_at_a_time(tmp_path):
    root = reds(tmp_path / "in")
    calls: list = []
    processor = processor_raising(lambda: torch.cuda.OutOfMemoryError("CUDA out of memory"),
                                  when=lambda batch: len(batch) > 1, calls=calls)
    summary = run(root, tmp_path / "out", processor)
    assert summary.written == 4 and summary.failed == [] and summary.exit_code == 0
    assert sorted(calls) == [(1, 3, 16, 16)] * 4  # the batch of 4 never reached the inner network


@pytest.mark.parametrize("stop", [Cancelled, KeyboardInterrupt])
def test_cancelled_and_ctrl_c_still_stop_the_batch(tmp_path, stop):
    root = reds(tmp_path / "in", count=6)
    processor = processor_raising(lambda: stop(), when=is_reddest, max_batch=1)
    summary = run(root, tmp_path / "out", processor, workers=1)
    assert summary.cancelled and summary.failed == []
    assert summary.written == 5  # the files before the reddest (the last) were finished and written


def test_cancelled_inside_tiles_still_stops(tmp_path):
    root = reds(tmp_path / "in", count=3, size=(96, 80))
    processor = processor_raising(lambda: Cancelled(), when=lambda batch: True)
    summary = run(root, tmp_path / "out", processor, tile=64, overlap=16)
    assert summary.cancelled and summary.written == 0 and summary.failed == []


# -- the command line --------------------------------------------------------------------------------------------


class Crashing(torch.nn.Module):
    """A stylizer with a bug: it divides by zero on the reddest images (content: 1 x 3 x H x W)."""

    def stylize(self, content, style=None, strength=1.0, preserve_color=False):
        return self.divide_by_redness(content)

    def divide_by_redness(self, content):
        scale = 1 / int(content[0, 0, 0, 0] <= 0.9)  # ZeroDivisionError: division by zero on the reddest
        return 1 - content * scale


class CrashingBackend:
    @staticmethod
    def build(config):
        return Crashing()


class CrashingPlugin:
    __version__ = "0.1"

    @hookimpl
    def register_backends(self):
        return [BackendSpec("crashing-style", BackendKind.STYLIZER, "Crashing", "Divides by zero on red images.",
                            f"{__name__}:CrashingBackend")]


@pytest.fixture
def crashing(use_plugins):
    found = use_plugins(crashing=CrashingPlugin())
    assert "crashing-style" in found.backends, found.plugins
    return found


def stylize_cli(*args: str):
    from genstudio.cli import app

    runner = CliRunner()
    # GENSTUDIO_DEBUG: unset for the run and restored after it (the --debug callback sets it)
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "GENSTUDIO_DEBUG": None})


def test_cli_prints_the_plugins_traceback_only_with_debug(crashing, tmp_path, single_torch_thread):
    root = reds(tmp_path / "in", count=3)
    args = ["stylize", "crashing-style", str(root), "--out", str(tmp_path / "out"), "--device", "cpu"]
    plain = stylize_cli(*args)
    assert plain.exit_code == 1, plain.output
    assert "ZeroDivisionError: division by zero" in plain.stderr and "2.png" in plain.stderr
    assert "Traceback" not in plain.output and "divide_by_redness" not in plain.output
    assert "--debug" in plain.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["0.png", "1.png"]

    debug = stylize_cli("--debug", *args, "--overwrite")
    assert debug.exit_code == 1, debug.output
    assert "ZeroDivisionError: division by zero" in debug.stderr
    assert "Traceback" in debug.stderr and "divide_by_redness" in debug.stderr

    as_json = stylize_cli(*args, "--overwrite", "--json")  # the report carries the traceback, --debug or not
    [failure] = json.loads(as_json.stdout)["failed"]
    assert "divide_by_redness" in failure["traceback"] and "Traceback" not in as_json.stderr


def test_main_turns_an_uncaught_plugin_error_into_one_line_and_exit_code_3(monkeypatch, capsys, tmp_path):
    from genstudio import cli

    def broken_stylize_folder(*args, **kwargs):
        try:
            return {}["missing"]
        except KeyError as exc:
            raise PluginError.from_exception(exc, "genstudio_style", "gatys") from exc

    monkeypatch.setattr("genstudio.batch.stylize.stylize_folder", broken_stylize_folder)
    monkeypatch.setenv("GENSTUDIO_DEBUG", "0")  # restored after the test (--debug sets it to 1)
    argv = ["genstudio", "stylize", "gatys", str(tmp_path), "--out", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == ["error: plugin genstudio_style (backend gatys) failed: KeyError: 'missing'",
                     "(run with --debug for the traceback)"]

    monkeypatch.setattr(sys, "argv", [argv[0], "--debug", *argv[1:]])
    with pytest.raises(PluginError) as raised:
        cli.main()
    assert isinstance(raised.value.__cause__, KeyError)
