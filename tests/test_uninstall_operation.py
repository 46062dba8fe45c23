"""genstudio.operations.plugins.uninstall_plugin: the one uninstall the CLI, the job runner and the app run.

Every plugin uninstalled here lives in a --target folder under tmp_path (a hand-made distribution, or the example
plugin pip installs there); nothing in the environment the tests run in is ever touched: the one test of the
in-environment path replaces pip.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from genstudio.errors import UserError
from genstudio.events import EventCollector
from genstudio.operations import plugins as operations

PLUGIN = '''
from genstudio import BackendKind, BackendSpec, Capabilities, ConfigSchema, hookimpl

__version__ = "1.0"


@hookimpl
def register_backends():
    return [BackendSpec("fakegen", BackendKind.GENERATOR, "Fake", "A test generator.", "fakeplug.impl:Nothing",
                        ConfigSchema([]), Capabilities(trainable=False))]
'''


def _forget() -> None:
    for name in [name for name in sys.modules if name == "fakeplug" or name.startswith("fakeplug.")]:
        del sys.modules[name]
    import genstudio.plugins

    genstudio.plugins._registry = None
    importlib.invalidate_caches()


@pytest.fixture
def fresh_plugins(monkeypatch):
    """sys.path and the plugin registry as they were, after the test adds its own folders."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    _forget()
    yield
    _forget()


def fake_distribution(site: Path) -> Path:
    """`fakeplug` 1.0 installed in `site` as pip --target would: the package, its dist-info with an entry point in
    the genstudio group and a RECORD (which also names a file outside `site`, to be left alone)."""
    package = site / "fakeplug"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (package / "data.txt").write_text("data")
    info = site / "fakeplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[genstudio]\nfake = fakeplug\n")
    (site.parent / "outside.txt").write_text("not the plugin's")
    record = ["fakeplug/__init__.py,,", "fakeplug/data.txt,,", "fakeplug-1.0.dist-info/METADATA,,",
              "fakeplug-1.0.dist-info/entry_points.txt,,", "fakeplug-1.0.dist-info/RECORD,,", "../outside.txt,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    (site / "other_package").mkdir()  # something else installed there stays
    (site / "other_package" / "__init__.py").write_text("")
    return site


def test_uninstall_from_a_target_folder_removes_exactly_its_files(tmp_path, fresh_plugins):
    from genstudio.plugins import get_registry

    site = fake_distribution(tmp_path / "site")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    before = get_registry(refresh=True)
    assert "fake" in before.plugins and "fakegen" in before.backends
    import fakeplug  # noqa: F401 - its modules are forgotten by the uninstall

    events = EventCollector()
    result = operations.uninstall_plugin(name="fake", target=str(site), progress=events)
    report = result.to_dict()
    assert json.loads(json.dumps(report)) == report
    assert (report["distribution"], report["version"], report["removed_plugins"]) == ("fakeplug", "1.0", ["fake"])
    assert report["removed_backends"] == ["fakegen"] and report["removed_files"] == 5 and report["command"] == []
    assert sorted(p.name for p in site.iterdir()) == ["other_package"]
    assert (tmp_path / "outside.txt").read_text() == "not the plugin's"
    assert any("left alone" in event.message for event in events.of_kind("log"))
    assert "fakeplug" not in sys.modules and "fake" not in get_registry().plugins


def test_built_ins_and_unknown_names_are_one_line(tmp_path, fresh_plugins):
    with pytest.raises(UserError, match="built into genstudio and cannot be uninstalled") as caught:
        operations.uninstall_plugin(name="gan")
    assert "\n" not in str(caught.value) and "plugins disable gan" in str(caught.value)
    with pytest.raises(UserError, match="no plugin named 'nothing'"):
        operations.uninstall_plugin(name="nothing")
    with pytest.raises(UserError, match="'cgan' is installed: it is a backend of plugin 'gan'"):
        operations.uninstall_plugin(name="cgan")


def test_a_plugin_in_the_environment_goes_through_pip_uninstall(tmp_path, fresh_plugins, monkeypatch):
    site = fake_distribution(tmp_path / "site")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    ran = []

    def fake_pip(command, reporter):  # never the real pip: remove the files as it would
        ran.append(command)
        dist = next(importlib.metadata.distributions(path=[str(site)]))
        operations._remove_recorded_files(dist, site.resolve(), reporter)
        return 0, ["Successfully uninstalled fakeplug-1.0"]

    monkeypatch.setattr(operations, "_inside_environment", lambda location: True)
    monkeypatch.setattr(operations, "_run_pip", fake_pip)
    result = operations.uninstall_plugin(name="fake")
    assert ran == [[sys.executable, "-m", "pip", "uninstall", "-y", "fakeplug", "--disable-pip-version-check"]]
    assert result.pip_exit_code == 0 and result.removed_plugins == ["fake"]


def test_cli_and_job_runner_uninstall_the_same_way(tmp_path, run_cli, fresh_plugins):
    site = fake_distribution(tmp_path / "site")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = run_cli("plugins", "list", "--json", env=env)
    assert "fake" in {plugin["name"] for plugin in json.loads(listed.stdout)["plugins"]}
    done = run_cli("plugins", "uninstall", "fake", "--json", env=env)  # found on PYTHONPATH, outside the env
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["removed_plugins"] == ["fake"] and not (site / "fakeplug").exists()
    builtin = run_cli("plugins", "uninstall", "gan")
    assert builtin.returncode == 2 and len(builtin.stderr.strip().splitlines()) == 1
    assert "built into genstudio" in builtin.stderr

    from genstudio.jobs.builtin import run_plugin_uninstall
    from genstudio.jobs.runners import runner_spec

    again = fake_distribution(tmp_path / "site2")
    params = runner_spec("plugin-uninstall").prepare({"name": "fake", "target": str(again)})
    assert runner_spec("plugin-uninstall").light
    result = run_plugin_uninstall(params, None, lambda: False)
    assert result["removed_plugins"] == ["fake"] and sorted(p.name for p in again.iterdir()) == ["other_package"]
    with pytest.raises(UserError, match="does not take"):
        run_plugin_uninstall({"name": "fake", "force": True}, None, lambda: False)


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "genstudio-plugin-example"


@pytest.mark.skipif(not EXAMPLE.is_dir(), reason="example plugin missing")
def test_what_plugins_install_put_in_a_target_uninstall_takes_out(tmp_path, fresh_plugins):
    import shutil

    source = tmp_path / "example-src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path / "site"
    installed = operations.install_plugin(requirement=str(source), target=str(site), no_build_isolation=True)
    assert installed.added_backends
    result = operations.uninstall_plugin(name="example", target=str(site))
    assert result.removed_plugins == ["example"] and result.removed_backends == installed.added_backends
    leftovers = [p.name for p in site.iterdir()] if site.exists() else []
    assert not [name for name in leftovers if "example" in name], leftovers
