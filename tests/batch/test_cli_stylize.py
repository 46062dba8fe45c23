"""`genstudio stylize` end to end with a stylizer registered only through the plugin folder: bad files, exit
codes, reruns, and a run killed with SIGKILL that a rerun completes without redoing finished files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from PIL import Image

from genstudio import paths
from genstudio.provenance import read_provenance

IMPL = '''
import os
import time

import torch


class Invert(torch.nn.Module):
    def stylize(self, content, style=None, strength=1.0, preserve_color=False):
        delay = float(os.environ.get("TOY_STYLIZE_DELAY", "0"))
        if delay:
            time.sleep(delay)
        tint = style.mean() if style is not None else 0.0
        return (1 - content) * strength + content * (1 - strength) + 0 * tint


class Backend:
    @staticmethod
    def build(config):
        return Invert()
'''

PLUGIN = '''
from genstudio import BackendKind, BackendSpec, Capabilities, hookimpl

__version__ = "0.0.1"


@hookimpl
def register_backends():
    return [BackendSpec("toy-invert", BackendKind.STYLIZER, "Invert", "Inverts colours; takes a style image.",
                        "toy_stylizer_impl:Backend", capabilities=Capabilities(needs_style_image=True))]
'''


def install_toy(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "toy_stylizer_impl.py").write_text(IMPL)
    paths.plugin_dir().mkdir(parents=True, exist_ok=True)
    (paths.plugin_dir() / "toystylizer.py").write_text(PLUGIN)
    return {"PYTHONPATH": str(code)}


def make_inputs(root, count=6):
    (root / "nested").mkdir(parents=True)
    for index in range(count):
        folder = root if index % 2 else root / "nested"
        Image.new("RGB", (24, 16), (index * 30, 10, 200)).save(folder / f"img{index}.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    style = root.parent / "style.png"
    Image.new("RGB", (8, 8), (0, 255, 0)).save(style)
    return style


def test_stylize_folder_reports_bad_files_and_reruns(run_cli, tmp_path):
    env = install_toy(tmp_path)
    style = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    args = ["stylize", "toy-invert", str(tmp_path / "in"), "--out", str(out), "--style", str(style), "--recursive",
            "--json"]
    first = run_cli(*args, env=env)
    assert first.returncode == 1, first.stderr  # one bad input
    summary = json.loads(first.stdout)
    assert summary["written"] == 6 and [f["path"].endswith("broken.png") for f in summary["failed"]] == [True]
    assert (out / "nested" / "img0.png").is_file() and (out / "img1.png").is_file()
    record = read_provenance(out / "img1.png")
    assert record["backend"] == "toy-invert" and record["operation"] == "stylize"
    assert record["style_sha256"] and record["input_sha256"]
    again = run_cli(*args, env=env)
    assert json.loads(again.stdout)["up_to_date"] == 6 and json.loads(again.stdout)["written"] == 0
    missing_style = run_cli("stylize", "toy-invert", str(tmp_path / "in"), "--out", str(out), env=env)
    assert missing_style.returncode == 2 and "--style" in missing_style.stderr


def test_sigkill_then_rerun_redoes_nothing_finished(tmp_path):
    env = {**os.environ, **install_toy(tmp_path), "TOY_STYLIZE_DELAY": "0.3", "COLUMNS": "200"}
    style = make_inputs(tmp_path / "in", count=12)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "genstudio", "stylize", "toy-invert", str(tmp_path / "in"), "--out", str(out),
            "--style", str(style), "--recursive", "--json"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.rglob("img*.png"))) < 4 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    done_before = {p: p.stat().st_mtime_ns for p in out.rglob("img*.png")}
    assert 4 <= len(done_before) < 12
    for path in done_before:  # every file present is complete
        assert read_provenance(path) is not None
    env["TOY_STYLIZE_DELAY"] = "0"
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    summary = json.loads(rerun.stdout)
    assert summary["up_to_date"] == len(done_before) and summary["written"] == 12 - len(done_before)
    assert {p: p.stat().st_mtime_ns for p in done_before} == done_before  # finished files untouched
    assert len(list(out.rglob("img*.png"))) == 12 and not list(out.rglob("*.tmp"))
