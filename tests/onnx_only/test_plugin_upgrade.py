"""Installing a plugin that is there already reports what happened ("upgraded NAME a -> b"), never "no new plugin
found"; the new version's backends count as added. Installs go into a --target folder only."""

from __future__ import annotations

import json
import os
import shutil

from .conftest import EXAMPLE

SHIPPED = "0.3.0"  # the example plugin's version as shipped (its pyproject.toml and __init__.py)


def _copy(tmp_path, version: str):
    copy = tmp_path / f"example-{version}-{len(list(tmp_path.glob('example-*')))}"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "genstudio_example/__init__.py"):
        path = copy / name
        path.write_text(path.read_text().replace(f'"{SHIPPED}"', f'"{version}"'))
    return copy


def test_reinstalling_and_upgrading_report_the_versions(run_cli, tmp_path):
    site = tmp_path / "site"
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    first = run_cli("plugins", "install", str(_copy(tmp_path, "0.2.0")), "--target", str(site),
                    "--no-build-isolation", env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "added plugin example 0.2.0" in first.stdout
    upgraded = run_cli("plugins", "install", str(_copy(tmp_path, "0.4.0")), "--target", str(site), "--upgrade",
                       "--no-build-isolation", env=env, timeout=300)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "upgraded example 0.2.0 -> 0.4.0" in upgraded.stdout
    again = run_cli("plugins", "install", str(_copy(tmp_path, "0.4.0")), "--target", str(site), "--upgrade",
                    "--no-build-isolation", "--json", env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["reinstalled_plugins"] == [{"name": "example", "version": "0.4.0"}]
    assert report["added_plugins"] == [] and report["upgraded_plugins"] == []
    listing = json.loads(run_cli("plugins", "list", "--json", env=env).stdout)
    assert {p["name"]: p["version"] for p in listing["plugins"]}["example"] == "0.4.0"
