"""Issue 20, item 11: `plugins install` takes a path, a wheel or a requirement, never a pip option.

`genstudio plugins install -- -r/etc/passwd` used to hand `-r/etc/passwd` to pip, and the echoed "running:" line was
not shell-quoted. The check lives in the one install operation, so the CLI, the plugin-install job and the app
(which queues that job) all refuse the same way, before pip starts.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from genstudio.errors import UserError
from genstudio.events import EventCollector
from genstudio.jobs.builtin import run_plugin_install
from genstudio.operations import plugins as install_op

OPTIONS = ["-r/etc/passwd", "--requirement=/etc/passwd", "-e.", "--index-url=http://example.invalid/simple",
           "  -r /etc/passwd"]


@pytest.fixture
def no_pip(monkeypatch):
    """Fail the test if pip would be started; returns the commands that were attempted."""
    started: list[list[str]] = []

    def refuse(command, *args, **kwargs):
        started.append(list(command))
        raise AssertionError(f"pip was started: {command}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    return started


@pytest.mark.parametrize("option", OPTIONS)
def test_case_11_pip_option_refused(option, tmp_path, no_pip):
    with pytest.raises(UserError) as caught:
        install_op.install_plugin(requirement=option, target=str(tmp_path / "site"))
    message = str(caught.value)
    assert "\n" not in message and "looks like a pip option" in message and option.strip() in message
    assert no_pip == []


def test_case_11_job_runner_refuses_options(tmp_path, no_pip):
    events = EventCollector()
    with pytest.raises(UserError, match="looks like a pip option"):
        run_plugin_install({"requirement": "-r/etc/passwd", "target": str(tmp_path / "site")}, events,
                           lambda: False)
    assert no_pip == [] and not events.of_kind("log")


def test_case_11_cli_refuses_options(run_cli, tmp_path):
    result = run_cli("plugins", "install", "--target", str(tmp_path / "site"), "--", "-r/etc/passwd", timeout=60)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "looks like a pip option" in last and "-r/etc/passwd" in last
    assert "running:" not in result.stderr  # pip never ran
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("text", ["foo bar", "name>=1.0 --hash=sha256:00", "https://example.invalid/x.whl",
                                  "name==1.0\n-r /etc/passwd"])
def test_case_11_not_a_path_wheel_or_requirement(text, no_pip):
    with pytest.raises(UserError) as caught:
        install_op.pip_argument(text)
    assert "\n" not in str(caught.value) and "give a wheel" in str(caught.value)


def test_case_11_paths_wheels_and_requirements_pass(tmp_path, monkeypatch):
    folder = tmp_path / "a project"
    folder.mkdir()
    wheel = tmp_path / "pkg-0.1-py3-none-any.whl"
    wheel.write_bytes(b"")
    odd = tmp_path / "-dash"
    odd.mkdir()
    monkeypatch.chdir(tmp_path)
    assert install_op.pip_argument(str(folder)) == str(folder.resolve())
    assert install_op.pip_argument("pkg-0.1-py3-none-any.whl") == str(wheel.resolve())
    assert install_op.pip_argument("./-dash") == str(odd.resolve())  # the way to name such a file
    assert install_op.pip_argument("missing/plugin") == str(tmp_path / "missing" / "plugin")  # pip says it is missing
    for requirement in ("genstudio-foo", "genstudio-foo>=1.0,<2", "genstudio-foo[extra]==1.2; python_version>'3'",
                        "genstudio-foo @ https://example.invalid/genstudio_foo-1.0-py3-none-any.whl"):
        assert install_op.pip_argument(requirement) == requirement
    command = install_op.pip_command("genstudio-foo", target=str(tmp_path / "site"))
    assert command[:5] == [sys.executable, "-m", "pip", "install", "genstudio-foo"]
    assert all(not part.startswith("-") for part in command[4:5])


def test_case_11_running_line_is_shell_quoted(tmp_path, monkeypatch, use_plugins):
    use_plugins()  # an empty registry: no discovery of the environment's plugins
    folder = tmp_path / "my plugin's folder; rm -rf ~"
    folder.mkdir()
    ran: list[list[str]] = []
    monkeypatch.setattr(install_op, "_run_pip", lambda command, reporter: (ran.append(command) or (0, [])))
    events = EventCollector()
    with pytest.raises(UserError, match="no new genstudio plugin"):  # the fake pip installed nothing
        install_op.install_plugin(requirement=str(folder), target=str(tmp_path / "site dir"), progress=events)
    (command,) = ran
    line = events.of_kind("log")[0].message
    assert line == "running: " + shlex.join(command)
    assert shlex.split(line.removeprefix("running: ")) == command  # pasted into a shell, it runs exactly that
    assert command[4] == str(Path(folder).resolve())
