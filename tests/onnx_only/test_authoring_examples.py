"""docs/plugin-authoring.md stays true: it names every hook, kind, input kind and capability; its quotes of the example
plugin are in the example's files; and its worked torch example installs, trains and passes `backends check`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
from PIL import Image

from genstudio import hookspecs
from genstudio.backends import BackendKind
from genstudio.capabilities import CAPABILITIES
from genstudio.inputs import InputKind

from .conftest import REPO

GUIDE = (REPO / "docs" / "plugin-authoring.md").read_text(encoding="utf-8")


def blocks(marker: str) -> list[tuple[str, str]]:
    """(name, code) of every fenced block whose first line is `# {marker}: name`."""
    found = re.findall(r"```\w*\n# " + marker + r": (\S+)\n(.*?)```", GUIDE, re.S)
    assert found, f"no '# {marker}:' blocks"
    return found


def test_the_guide_names_the_whole_contract():
    hooks = [name for name in vars(hookspecs) if callable(getattr(hookspecs, name))
             and hasattr(getattr(hookspecs, name), "genstudio_spec")]
    assert hooks
    for name in hooks:
        assert f"`{name}(" in GUIDE, name
    for kind in BackendKind:
        assert f"| `{kind.value}` |" in GUIDE, kind
    for kind in InputKind:
        assert f"| `{kind.value}` |" in GUIDE, kind
    for name in CAPABILITIES:
        assert f"| `{name}` |" in GUIDE, name
    assert f"now `{hookspecs.CONTRACT_VERSION}`" in GUIDE


def test_quotes_of_the_example_plugin_are_its_code():
    for path, code in blocks("from"):
        if path.endswith(".py"):
            assert code.strip() in (REPO / path).read_text(encoding="utf-8"), f"the guide's quote of {path} is stale"


def test_the_worked_torch_example_installs_trains_and_conforms(tmp_path):
    project = tmp_path / "tinygan-src"
    for path, code in blocks("file"):
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(code, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinygan"\nversion = "0.1.0"\n[project.entry-points.genstudio]\ntinygan = "tinygan"\n')
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", str(project), "--target", str(site), "--no-deps",
                          "--no-build-isolation", "--disable-pip-version-check", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for index in range(16):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(data / f"{index}.png")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
               GENSTUDIO_ENTRY_POINTS_ONLY_IN=str(site))

    def genstudio(*args):
        return subprocess.run([sys.executable, "-m", "genstudio", *map(str, args)], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300)

    model = tmp_path / "model"
    train = genstudio("train", "tinygan", "--data", data, "--out", model, "--steps", "3", "--batch-size", "8",
                      "--device", "cpu", "--set", "resolution=16")
    assert train.returncode == 0, train.stderr[-2000:]
    check = genstudio("backends", "check", model, "--json")
    report = json.loads(check.stdout)
    failed = {item["name"]: item["detail"] for item in report["checks"] if item["status"] == "fail"}
    assert check.returncode == 0 and not failed, failed
    assert {item["name"] for item in report["checks"] if item["status"] == "pass"} >= {"cli", "job", "app",
                                                                                        "onnx parity"}
