"""Issue 20, item 13: a genstudio plugin installed beside genstudio does not change what the test suite sees.

The suite sets GENSTUDIO_ENTRY_POINTS_ONLY_IN (tests/conftest.py): entry points then load only from genstudio's
own distribution and from what a test installs under its own tmp_path. Users never set it and get every installed
plugin. Here a fake distribution with a 'genstudio' entry point stands for the stray plugin: a *.dist-info folder
on sys.path outside the test's tmp_path (no pip, nothing installed into the running environment).
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from genstudio.plugins import discover

ENTRY_POINTS_ONLY_IN_ENV = "GENSTUDIO_ENTRY_POINTS_ONLY_IN"  # genstudio.plugins.ENTRY_POINTS_ONLY_IN_ENV

BUILTIN = {"shapes", "gan", "vae", "style"}


def _fake_distribution(site, name: str) -> None:
    """A distribution `genstudio-<name>` in folder `site` whose module registers a backend `<name>-backend`."""
    module = f"genstudio_fault_{name}"
    dist_info = site / f"genstudio_{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: genstudio-{name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[genstudio]\n{name} = {module}\n")
    (site / f"{module}.py").write_text(
        "from genstudio import BackendKind, BackendSpec, hookimpl\n\n\n@hookimpl\ndef register_backends():\n"
        f"    return [BackendSpec('{name}-backend', BackendKind.GENERATOR, '{name}', 'd', 'json:dumps')]\n")


@pytest.fixture
def stray_site(tmp_path_factory, monkeypatch):
    """A folder on sys.path, outside this test's tmp_path, holding a stray plugin 'stray' (as if pip-installed)."""
    site = tmp_path_factory.mktemp("environment-site")
    _fake_distribution(site, "stray")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for module in [name for name in sys.modules if name.startswith("genstudio_fault_")]:
        del sys.modules[module]


def _plugins(tmp_path) -> dict:
    return discover(entry_points=True, plugin_dir=tmp_path / "no-plugins", disabled=set()).plugins


def test_case_13_suite_ignores_a_stray_installed_plugin(tmp_path, stray_site, monkeypatch):
    assert os.environ.get(ENTRY_POINTS_ONLY_IN_ENV) == str(tmp_path)  # what the suite's conftest set
    suite = _plugins(tmp_path)
    assert "stray" not in suite
    assert {name for name, rec in suite.items() if rec.source == "builtin" and rec.status == "loaded"} >= BUILTIN

    monkeypatch.delenv(ENTRY_POINTS_ONLY_IN_ENV)  # what a user gets: every installed plugin, this one too
    product = _plugins(tmp_path)
    stray = product["stray"]
    assert (stray.status, stray.source, stray.version) == ("loaded", "entry point", "1.0")
    assert stray.backends == ["stray-backend"]
    assert set(suite) < set(product)


def test_case_13_suite_sees_what_a_test_installs(tmp_path, stray_site):
    _fake_distribution(tmp_path / "site", "own")  # like `pip install --target tmp_path/site`
    sys.path.insert(0, str(tmp_path / "site"))
    try:
        plugins = _plugins(tmp_path)
    finally:
        sys.path.remove(str(tmp_path / "site"))
    assert plugins["own"].status == "loaded" and plugins["own"].backends == ["own-backend"]
    assert "stray" not in plugins


def test_case_13_cli_processes_ignore_the_stray_plugin(tmp_path, stray_site, run_cli):
    """Processes a test starts (the CLI, job workers) inherit the setting."""
    env = {"PYTHONPATH": os.pathsep.join([str(stray_site), os.environ.get("PYTHONPATH", "")])}
    listing = run_cli("plugins", "list", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    names = {plugin["name"] for plugin in json.loads(listing.stdout)["plugins"]}
    assert "stray" not in names and names >= BUILTIN
