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

import importlib
import os
import sys
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from genstudio._version import __version__
from genstudio.cli.output import console_err, shown
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


# Every command and group, as "module:attribute" (imported only when it runs or
# shows its own help: typer builds every parameter of every command it is given, and the command modules import
# Rich tables, the job queue, the operations...), with the options `app.command` gets.
_GROUPS = {"plugins": "genstudio.cli.plugins:app", "backends": "genstudio.cli.backends:app",
           "data": "genstudio.cli.data:app", "jobs": "genstudio.cli.jobs:app"}
_COMMANDS: dict[str, tuple[str, dict]] = {
    "train": ("genstudio.cli.train:train", {}),
    "generate": ("genstudio.cli.generate:generate", {}),
    "eval": ("genstudio.cli.evaluate:evaluate", {}),
    "export": ("genstudio.cli.export:export", {}),
    "info": ("genstudio.cli.info:info", {}),
    "reproduce": ("genstudio.cli.info:reproduce", {}),
    "stylize": ("genstudio.cli.stylize:stylize", {}),
    "translate": ("genstudio.cli.stylize:stylize",
                  {"help": "Translate images with a translator backend (the same options as stylize)."}),
    "restore": ("genstudio.cli.restore:restore", {}),
    "reconstruct": ("genstudio.cli.vae:reconstruct", {}),
    "interpolate": ("genstudio.cli.vae:interpolate", {}),
    "walk": ("genstudio.cli.walk:walk", {}),
    "draw-steps": ("genstudio.cli.draw_steps:draw_steps", {}),
    "demo": ("genstudio.cli.demo:demo", {}),
    "gui": ("genstudio.cli:gui", {}),
}
# The line `genstudio --help` shows for each, so that listing them imports none of them: the first paragraph of
# the command's help (its docstring, or its group's help). tests/test_cli_lazy.py compares it with the commands'
# own, and the listing with the one typer makes from the real commands, so the table cannot drift.
COMMAND_HELP = {
    "plugins": "List, install, uninstall, enable and disable plugins.",
    "backends": "List backends or show one backend's settings.",
    "data": "Inspect image dataset folders.",
    "jobs": "The persistent job queue shared by the CLI and the app.",
    "train": "Train a backend; Ctrl-C stops cleanly with a resumable checkpoint.",
    "generate": "Generate images; each PNG records how it was made (seed, index, model hash, device).",
    "eval": "Evaluate a model: FID, KID, precision, recall and the Inception Score of its samples; likelihoods for\n"
            "VAEs.",
    "export": "Export a model to ONNX for fast inference with onnxruntime (`generate --runtime onnx`).",
    "info": "Print the provenance an image carries: model, seed, parameters, runtime, device, time.",
    "reproduce": "Re-create an image from its provenance and compare it with the original (exit 1 if pixels differ).\n"
                 "Works for generated, stylized and restored images (PNG, or JPEG/WebP with their .json sidecar); "
                 "--out takes the\noriginal's format.",
    "stylize": "Stylize or translate images; bad files are skipped and listed, reruns skip finished outputs (exit 1 "
               "if any\nfailed).",
    "translate": "Translate images with a translator backend (the same options as stylize).",
    "restore": "Inpaint, denoise or upscale images; bad files and missing masks are skipped and listed, reruns skip "
               "finished\noutputs (exit 1 if any failed).",
    "reconstruct": "Encode and decode images through an autoencoder model (the posterior mean's decoding).",
    "interpolate": "Decode a path through latent space between two images: spherical interpolation (slerp) between "
                   "their\nposterior means, so the ends reconstruct the two inputs.",
    "walk": "Walk smoothly through the latents of a few seeds (slerp) and write the frames as an animation; each "
            "frame\nrecords how it was made (a frame folder's PNGs reproduce with `genstudio reproduce`).",
    "draw-steps": "Animate how a model draws: the canvas after each drawing step (t = 1 .. T) of images --start .. "
                  "of --seed;\nthe last frame is what `genstudio generate` makes. Written as a GIF, a WebP or PNG "
                  "frames with provenance.",
    "demo": "Try it: make a sample set of shapes, train a small generator on it, generate a grid, export and check "
            "the\nONNX model, stylize the grid, and print where each result is. Needs no data and no downloads.",
    "gui": "Open the desktop app (also what `genstudio` with no arguments does).",
}


def _resolve(target: str):
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _build(names: list[str], cls: type | None = None) -> typer.Typer:
    """A typer app with the root options and the named commands and groups (their modules imported now)."""
    built = typer.Typer(**_APP_SETTINGS, **({"cls": cls} if cls else {}))
    built.callback()(_root)
    for name in names:
        if name in _GROUPS:
            built.add_typer(_resolve(_GROUPS[name]), name=name)
        else:
            target, options = _COMMANDS[name]
            built.command(name, **options)(_resolve(target))
    return built


def _command(name: str) -> Any:
    """The click command (or group) typer makes for `name`: exactly the one a fully built app holds."""
    return typer.main.get_group(_build([name])).commands[name]


class LazyGroup(TyperGroup):
    """The root group: knows every command by name and help line, and builds a command (importing its module and
    typer building its parameters) only to run it or to show its own --help. `genstudio --help` lists the commands
    from `COMMAND_HELP`, so the listing imports none of them."""

    _listing = False  # True while the root's own help is rendered

    def list_commands(self, ctx: Any) -> list[str]:
        return [*_COMMANDS, *_GROUPS]  # typer's order: commands, then groups

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMAND_HELP:
            if self._listing:  # a stand-in that carries the help line the listing shows
                return TyperCommand(cmd_name, help=COMMAND_HELP[cmd_name])
            self.commands[cmd_name] = _command(cmd_name)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


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


app = _build([], cls=LazyGroup)  # the whole command line: `main` runs it, tests invoke it


def main() -> None:
    """Console-script entry point: runs the app and turns UserErrors into one line and exit code 2, and
    PluginErrors into one line and exit code 3 (with --debug both are re-raised with their tracebacks)."""
    for stream in (sys.stdout, sys.stderr):  # an undecodable file name is shown escaped, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        if len(sys.argv) == 1:  # no arguments: the desktop app, as a launcher icon would start it
            sys.argv.append("gui")
        app()
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
