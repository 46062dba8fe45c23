"""The example third-party plugin, a distribution of its own, installed the way users install plugins.

pip installs it into a temporary --target folder (not the test environment), offline: the build uses this
environment's setuptools. A second process with that folder on its path must find the plugin through the
'genstudio' entry point, with no change to genstudio.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "genstudio-plugin-example"

pytestmark = pytest.mark.skipif(not EXAMPLE.is_dir(), reason="example plugin missing")


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example project: building it in place would leave build/ and egg-info in the repo."""
    copy = tmp_path / "example-src"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return copy


def backends_seen_with(site: Path, run_cli) -> dict:
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    result = run_cli("backends", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {item["id"]: item for item in json.loads(result.stdout)["backends"]}


def test_install_from_folder_adds_its_backend(run_cli, tmp_path, example):
    site = tmp_path / "site"
    assert "plasma" not in backends_seen_with(site, run_cli)
    result = run_cli("plugins", "install", str(example), "--target", str(site), "--no-build-isolation", "--json",
                     timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added_backends"] == ["plasma", "plasma-onnx", "tinystyle"]
    assert [plugin["name"] for plugin in report["added_plugins"]] == ["example"]
    plasma = backends_seen_with(site, run_cli)["plasma"]
    assert plasma["plugin"] == "example" and plasma["plugin_version"] == "0.3.0"
    listing = run_cli("plugins", "list", "--json", env={"PYTHONPATH": str(site)})
    example = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}["example"]
    assert example["source"] == "entry point" and example["status"] == "loaded"


def test_install_from_wheel(run_cli, tmp_path, example):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(example)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("genstudio_plugin_example-*.whl")
    site = tmp_path / "site"
    result = run_cli("plugins", "install", str(wheel), "--target", str(site), "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added_backends"] == ["plasma", "plasma-onnx", "tinystyle"]
    assert "plasma" in backends_seen_with(site, run_cli)


def test_failed_pip_install_is_a_user_error(run_cli, tmp_path):
    missing = tmp_path / "no-such-plugin.whl"
    missing.write_bytes(b"not a wheel")
    result = run_cli("plugins", "install", str(missing), "--target", str(tmp_path / "site"))
    assert result.returncode == 2
    assert "pip could not install" in result.stderr.splitlines()[-1]
