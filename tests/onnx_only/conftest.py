"""The example plugin installed the way users install it (into a --target folder, offline), photos, and a way to run
the real command line in a fresh process that reports whether torch was imported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "genstudio-plugin-example"
if str(EXAMPLE) not in sys.path:  # build_graphs and genstudio_example, in process
    sys.path.insert(0, str(EXAMPLE))

# `genstudio ARGS` in this process's interpreter; afterwards one JSON line on stderr: the exit code and whether
# anything imported torch.
DRIVER = """
import json, sys
from genstudio.cli import main
sys.argv = ["genstudio", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
print(json.dumps({"code": code, "torch": "torch" in sys.modules}), file=sys.stderr)
"""


@pytest.fixture(scope="session")
def example_site(tmp_path_factory) -> Path:
    """The example plugin pip-installed into a --target folder (never this environment), once per session."""
    source = tmp_path_factory.mktemp("example-src") / "example"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path_factory.mktemp("example-site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", str(source), "--target", str(site), "--no-deps",
                           "--no-build-isolation", "--disable-pip-version-check", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (site / "genstudio_example" / "graphs" / "tinystyle.onnx").is_file(), "the graph is not package data"
    return site


class Result:
    def __init__(self, done: subprocess.CompletedProcess):
        self.stdout, self.stderr = done.stdout, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.startswith('{"code"')]
        assert lines, f"the driver did not report (exit {done.returncode}):\n{done.stderr[-3000:]}"
        report = json.loads(lines[-1])
        self.code, self.torch = report["code"], report["torch"]
        self.errors = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith('{"code"')]

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def genstudio(example_site, tmp_path):
    """`genstudio(*args)`: the command line in a fresh process that sees the installed example plugin."""

    def run(*args, env: dict[str, str] | None = None, site: Path | None = example_site) -> Result:
        extra = {"COLUMNS": "200"}
        if site is not None:
            extra["PYTHONPATH"] = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
            extra["GENSTUDIO_ENTRY_POINTS_ONLY_IN"] = os.pathsep.join([str(site), str(tmp_path)])
        done = subprocess.run([sys.executable, "-c", DRIVER, *map(str, args)], capture_output=True, text=True,
                              env=dict(os.environ, **extra, **(env or {})), timeout=120)
        return Result(done)

    return run


@pytest.fixture
def photos(tmp_path) -> Path:
    """photos/ with three images at the top and one in a subfolder, of different sizes."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(3)
    for name, size in (("a.jpg", (40, 30)), ("b.png", (32, 32)), ("c.png", (48, 20)), ("sub/d.png", (24, 36))):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(root / name)
    return root


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)
