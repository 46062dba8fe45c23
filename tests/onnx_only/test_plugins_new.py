"""`genstudio plugins new`: the project it writes installs and passes its own generated test as written (which
installs it into a temporary --target folder and runs `genstudio backends check` on it); mistakes are one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from .conftest import REPO


def new(run_cli, tmp_path, *args):
    result = run_cli("plugins", "new", *args, "--dir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_generated_test(project) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=project["folder"], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args", [["shiny", "--kind", "stylizer", "--onnx"], ["noisy", "--kind", "generator"]])
def test_a_new_project_passes_its_own_test_unchanged(run_cli, tmp_path, args):
    project = new(run_cli, tmp_path, *args)
    assert project["backend"] == args[0] and project["package"] == f"genstudio_{args[0]}"
    package = project["package"]
    expected = {"pyproject.toml", "README.md", ".gitignore", "tests/test_plugin.py", f"{package}/__init__.py"}
    assert expected <= set(project["files"])
    if "--onnx" in args:
        assert f"{project['package']}/graphs/model.onnx" in project["files"] and "build_graph.py" in project["files"]
    done = run_generated_test(project)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout
    if shutil.which("ruff"):  # what it writes is clean to the project's own standard
        lint = subprocess.run(["ruff", "check", "--config", str(REPO / "pyproject.toml"), project["folder"]],
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("args, message", [
    (["Bad Name", "--kind", "stylizer"], "must be lower-case letters and digits"),
    (["ok", "--kind", "painter"], "--kind must be one of generator, autoencoder, stylizer, translator"),
    (["ok", "--kind", "generator", "--onnx"], "--onnx makes an ONNX-only backend, which is a stylizer or translator"),
])
def test_mistakes_are_one_line(run_cli, tmp_path, args, message):
    result = run_cli("plugins", "new", *args, "--dir", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_existing_folder_is_never_overwritten(run_cli, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("mine")
    result = run_cli("plugins", "new", "mine", "--kind", "translator", "--dir", str(tmp_path))
    assert result.returncode == 2 and "exists" in result.stderr
    assert [path.name for path in (tmp_path / "mine").iterdir()] == ["keep.txt"]
