"""genstudio.operations.plugins.install_plugin: the one install that the CLI, the job runner and the app run.

Every install goes into a --target folder under tmp_path, never into the environment the tests run in; pip builds
the example plugin offline (--no-build-isolation, this environment's setuptools). The in-process installs put the
folder on sys.path and refresh the process-wide registry, so a fixture restores both afterwards.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genstudio.errors import Cancelled, UserError
from genstudio.events import EventCollector
from genstudio.jobs.builtin import run_plugin_install
from genstudio.operations.plugins import _pip_error, install_plugin

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "genstudio-plugin-example"
EXAMPLE_MODULE = "genstudio_example"

needs_example = pytest.mark.skipif(not EXAMPLE.is_dir(), reason="example plugin missing")


def _forget_installs() -> None:
    """Drop the example's modules and the cached registry, so the next discovery starts from the environment."""
    for name in [name for name in sys.modules if name == EXAMPLE_MODULE or name.startswith(EXAMPLE_MODULE + ".")]:
        del sys.modules[name]
    import genstudio.plugins

    genstudio.plugins._registry = None
    importlib.invalidate_caches()


@pytest.fixture
def fresh_plugins(monkeypatch):
    """sys.path and the plugin registry as they were, after the test installs into its own folders."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    _forget_installs()
    yield
    _forget_installs()


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example project: building it in place would leave build/ and egg-info in the repo."""
    copy = tmp_path / "example-src"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return copy


def assert_example_added(report: dict) -> None:
    assert report["added_backends"] == ["plasma", "plasma-onnx", "tinystyle"]
    (plugin,) = report["added_plugins"]
    assert (plugin["name"], plugin["version"], plugin["status"], plugin["error"]) == ("example", "0.3.0", "loaded", "")
    assert plugin["backends"] == ["plasma", "tinystyle", "plasma-onnx"] and plugin["source"] == "entry point"


@needs_example
def test_install_from_folder_reports_the_plugin_and_its_backends(tmp_path, example, fresh_plugins):
    from genstudio.plugins import get_registry

    site = tmp_path / "site"
    events = EventCollector()
    result = install_plugin(requirement=str(example), target=str(site), no_build_isolation=True, progress=events)

    report = result.to_dict()
    assert_example_added(report)
    assert report["pip_exit_code"] == 0 and report["target"] == str(site.resolve())
    assert json.loads(json.dumps(report)) == report  # JSON-safe, as the job stores it
    assert any(path.name.startswith("genstudio_plugin_example") for path in site.iterdir())
    # pip's output came as log events, as it ran; the new backend is usable in this process at once
    logs = [event.message for event in events.of_kind("log")]
    assert logs[0].startswith("running: ") and any("Successfully installed genstudio-plugin-example" in line
                                                   for line in logs)
    assert events.of_kind("end")[-1].message == "added example 0.3.0"
    assert get_registry().backend("plasma").id == "plasma"


def test_a_requirement_pip_cannot_satisfy_is_a_one_line_user_error(tmp_path, fresh_plugins):
    missing = tmp_path / "no-such-plugin"
    with pytest.raises(UserError) as caught:
        install_plugin(requirement=str(missing), target=str(tmp_path / "site"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"pip could not install {str(missing)!r} (exit code 1): ")
    assert str(missing) in message.split(": ", 1)[1]  # pip's own complaint names it, not just "see above"
    assert str(tmp_path / "site") not in sys.path


def test_pip_error_picks_the_last_error_line_and_its_hint():
    lines = ["Processing ./x", "ERROR: first problem", "ERROR: Invalid requirement: 'x'",
             "Hint: It looks like a path.", "[notice] A new release of pip is available"]
    assert _pip_error(lines) == "Invalid requirement: 'x' (Hint: It looks like a path.)"
    assert _pip_error(["Collecting y", "something broke"]) == "something broke"


def test_abort_terminates_pip_and_cancels(tmp_path, monkeypatch, fresh_plugins):
    started: list[subprocess.Popen] = []

    class RecordingPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    with pytest.raises(Cancelled):
        install_plugin(requirement="genstudio-plugin-that-does-not-exist", target=str(tmp_path / "site"),
                       abort=lambda: True)
    (pip,) = started
    assert pip.returncode is not None  # pip was stopped and reaped, not left running


@needs_example
def test_job_runner_and_cli_report_the_same_install(tmp_path, example, run_cli, fresh_plugins):
    events = EventCollector()
    job = run_plugin_install({"requirement": str(example), "target": str(tmp_path / "job-site"),
                              "no_build_isolation": True}, events, lambda: False)
    cli = run_cli("plugins", "install", str(example), "--target", str(tmp_path / "cli-site"), "--no-build-isolation",
                  "--json", timeout=300)
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)

    assert_example_added(job)
    for key in ("added_plugins", "added_backends", "requirement", "pip_exit_code"):
        assert job[key] == printed[key], key
    assert "Successfully installed genstudio-plugin-example" in cli.stderr  # pip's output: stderr, as it runs
    assert any("Successfully installed" in event.message for event in events.of_kind("log"))  # and in the job log


def _project(folder: Path, name: str, module_text: str, entry_point: bool) -> Path:
    """A minimal installable project: one module, with or without a 'genstudio' entry point."""
    module = name.replace("-", "_")
    folder.mkdir()
    (folder / f"{module}.py").write_text(module_text)
    entry = f'\n[project.entry-points.genstudio]\n{module} = "{module}"\n' if entry_point else ""
    (folder / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.0.1"\n{entry}\n[tool.setuptools]\npy-modules = ["{module}"]\n'
    )
    return folder


def test_a_plugin_that_fails_to_load_is_named_in_the_user_error(tmp_path, fresh_plugins):
    project = _project(tmp_path / "broken", "gs-broken-plugin", "raise ImportError('needs a missing library')\n",
                       entry_point=True)
    try:
        with pytest.raises(UserError) as caught:
            install_plugin(requirement=str(project), target=str(tmp_path / "site"), no_build_isolation=True)
    finally:
        sys.modules.pop("gs_broken_plugin", None)
    message = str(caught.value)
    assert "\n" not in message and "gs_broken_plugin" in message and "needs a missing library" in message
    assert "genstudio plugins list --traceback" in message


def test_a_package_without_a_plugin_is_a_user_error(tmp_path, fresh_plugins):
    project = _project(tmp_path / "plain", "gs-not-a-plugin", "VALUE = 1\n", entry_point=False)
    with pytest.raises(UserError, match="no new genstudio plugin was found"):
        install_plugin(requirement=str(project), target=str(tmp_path / "site"), no_build_isolation=True)
    assert (tmp_path / "site" / "gs_not_a_plugin.py").is_file()  # pip did install it
