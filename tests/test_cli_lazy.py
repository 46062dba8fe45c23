"""The command line builds only the command it runs: `genstudio --help` lists every command from a static table
(names and help lines) that must match the real commands, and `genstudio COMMAND` imports that command's module
and no other command's."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import genstudio.cli as cli


def test_the_table_names_every_command_once():
    assert set(cli.COMMAND_HELP) == set(cli._COMMANDS) | set(cli._GROUPS)
    assert not set(cli._COMMANDS) & set(cli._GROUPS)


@pytest.mark.parametrize("name", sorted(cli.COMMAND_HELP))
def test_each_help_line_is_the_commands_own(name):
    command = cli._command(name)  # the command typer makes from the real function or group
    own = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    assert cli.COMMAND_HELP[name] == own, f"update COMMAND_HELP[{name!r}] in genstudio/cli/__init__.py"


def test_help_lists_what_the_fully_built_app_lists():
    runner = CliRunner()
    lazy = runner.invoke(cli.app, ["--help"], terminal_width=120)
    eager = runner.invoke(cli._build([*cli._COMMANDS, *cli._GROUPS]), ["--help"], terminal_width=120)
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.output == eager.output
    for name in cli.COMMAND_HELP:
        assert f" {name} " in lazy.output


def _fresh(argv: list[str]) -> dict:
    """Run `genstudio ARGV` in a fresh interpreter; its exit code, output and the genstudio.cli modules it
    imported."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['genstudio', *{argv!r}]\n"
        "from genstudio.cli import main\n"
        "try:\n    main()\n    code = 0\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
        "mods = sorted(m for m in sys.modules if m.startswith(('genstudio.cli.', 'torch', 'pydantic')))\n"
        "print(json.dumps({'code': code, 'modules': mods}), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return {**report, "stdout": done.stdout, "stderr": done.stderr}


def test_help_imports_no_command_module():
    result = _fresh(["--help"])
    assert result["code"] == 0
    assert result["modules"] == ["genstudio.cli.output"]
    assert "stylize" in result["stdout"] and "jobs" in result["stdout"]


def test_a_command_imports_its_own_module_only():
    result = _fresh(["stylize", "--help"])
    assert result["code"] == 0 and "--out" in result["stdout"]
    commands = {module for module in result["modules"] if module.startswith("genstudio.cli.")}
    assert commands == {"genstudio.cli.output", "genstudio.cli.progress", "genstudio.cli.stylize"}
    group = _fresh(["plugins", "--help"])
    assert group["code"] == 0 and "install" in group["stdout"]
    assert "genstudio.cli.plugins" in group["modules"] and "genstudio.cli.jobs" not in group["modules"]


def test_an_unknown_command_is_one_clear_error():
    result = CliRunner().invoke(cli.app, ["stylise"])
    assert result.exit_code == 2
    assert "No such command 'stylise'" in result.output
