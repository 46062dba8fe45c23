"""The `genstudio` command line.

One typer app; each command group lives in its own module. Start-up stays fast: no torch import here (commands
import heavy modules inside their bodies). Errors a user can cause are `UserError`s: printed as one line on
stderr with exit code 2 (the traceback only with --debug). Exit code 1 means partial failure (some inputs failed).

Exit codes: 0 success; 1 partial failure (some inputs failed, the rest done); 2 a user error (bad input or
option); 3 a plugin failed (a `PluginError`: a bug in a plugin's code, one line naming the plugin and backend,
its traceback with --debug); 130 interrupted. `--debug` also sets GENSTUDIO_DEBUG=1, which core code reads
through `genstudio.errors.debug_enabled()` (e.g. to print the tracebacks of files a plugin failed on).
"""

from __future__ import annotations

import os
import sys

import typer

from genstudio._version import __version__
from genstudio.cli import backends as backends_cli
from genstudio.cli import data as data_cli
from genstudio.cli import jobs as jobs_cli
from genstudio.cli import plugins as plugins_cli
from genstudio.cli import vae as vae_cli
from genstudio.cli.demo import demo
from genstudio.cli.draw_steps import draw_steps
from genstudio.cli.evaluate import evaluate
from genstudio.cli.export import export
from genstudio.cli.generate import generate
from genstudio.cli.info import info, reproduce
from genstudio.cli.output import console_err, shown
from genstudio.cli.restore import restore
from genstudio.cli.stylize import stylize
from genstudio.cli.train import train
from genstudio.cli.walk import walk
from genstudio.errors import DEBUG_ENV, PluginError, UserError, debug_enabled

_APP_SETTINGS = dict(
    name="genstudio",
    help="A local studio for deep generative image models: train, generate and stylize with plugin backends.",
    add_completion=False,
    pretty_exceptions_enable=False,  # main() decides how errors look
    context_settings={"help_option_names": ["-h", "--help"]},
)


def gui() -> None:
    """Open the desktop app (also what `genstudio` with no arguments does)."""
    from genstudio.gui import run_app

    raise typer.Exit(run_app())


# Every command and group, registered on `app` in this order; `main` registers just the one it runs.
_GROUPS = {"plugins": plugins_cli.app, "backends": backends_cli.app, "data": data_cli.app, "jobs": jobs_cli.app}
_COMMANDS: dict[str, tuple] = {
    "train": (train, {}),
    "generate": (generate, {}),
    "eval": (evaluate, {}),
    "export": (export, {}),
    "info": (info, {}),
    "reproduce": (reproduce, {}),
    "stylize": (stylize, {}),
    "translate": (stylize, {"help": "Translate images with a translator backend (the same options as stylize)."}),
    "restore": (restore, {}),
    "reconstruct": (vae_cli.reconstruct, {}),
    "interpolate": (vae_cli.interpolate, {}),
    "walk": (walk, {}),
    "draw-steps": (draw_steps, {}),
    "demo": (demo, {}),
    "gui": (gui, {}),
}


def _build(names: list[str]) -> typer.Typer:
    built = typer.Typer(**_APP_SETTINGS)
    built.callback()(_root)
    for name in names:
        if name in _GROUPS:
            built.add_typer(_GROUPS[name], name=name)
        else:
            function, options = _COMMANDS[name]
            built.command(name, **options)(function)
    return built


_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"genstudio {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    _state["debug"] = debug
    if debug:  # reachable from core code without importing the CLI: genstudio.errors.debug_enabled()
        os.environ[DEBUG_ENV] = "1"


app = _build([*_GROUPS, *_COMMANDS])  # the whole command line (tests invoke it; `--help` lists it)


def _app_for(argv: list[str]) -> typer.Typer:
    """The app `main` runs: for `genstudio COMMAND ...` one holding just that command, since typer builds every
    registered command before it parses anything (a fifth of `genstudio stylize`'s start-up on an ONNX model)."""
    name = argv[1] if len(argv) > 1 else ""
    return _build([name]) if name in _GROUPS or name in _COMMANDS else app


def main() -> None:
    """Console-script entry point: runs the app and turns UserErrors into one line and exit code 2, and
    PluginErrors into one line and exit code 3 (with --debug both are re-raised with their tracebacks)."""
    for stream in (sys.stdout, sys.stderr):  # an undecodable file name is shown escaped, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        if len(sys.argv) == 1:  # no arguments: the desktop app, as a launcher icon would start it
            sys.argv.append("gui")
        _app_for(sys.argv)()
    except UserError as exc:
        if _state["debug"] or "--debug" in sys.argv[1:]:
            raise
        console_err.print(f"[bold red]error:[/] {shown(exc)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except PluginError as exc:
        if _state["debug"] or "--debug" in sys.argv[1:] or debug_enabled():
            raise
        console_err.print(f"[bold red]error:[/] {shown(exc)}", highlight=False, soft_wrap=True)
        console_err.print("(run with --debug for the traceback)", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console_err.print("interrupted")
        sys.exit(130)
