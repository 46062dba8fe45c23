"""`genstudio plugins ...`: list, install, uninstall, enable, disable, and show the plugin folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from genstudio import paths
from genstudio.cli.output import JSON_OPTION, console, console_err, print_json, shown
from genstudio.events import Event

app = typer.Typer(help="List, install, uninstall, enable and disable plugins.", no_args_is_help=True)

_STATUS_STYLE = {"loaded": "green", "failed": "bold red", "disabled": "yellow"}


@app.command("list")
def list_plugins(
    as_json: bool = JSON_OPTION,
    show_traceback: bool = typer.Option(False, "--traceback", help="Show the full traceback of failed plugins."),
) -> None:
    """List every plugin found: version, source, status, backends and errors."""
    from genstudio.plugins import get_registry

    registry = get_registry()
    records = sorted(registry.plugins.values(), key=lambda rec: (rec.source != "builtin", rec.name))
    if as_json:
        print_json({"plugins": [rec.to_dict(with_traceback=show_traceback) for rec in records]})
        return
    table = Table(title="genstudio plugins", title_justify="left")
    for column in ("plugin", "version", "source", "status", "backends"):
        table.add_column(column)
    for rec in records:
        status = f"[{_STATUS_STYLE[rec.status]}]{rec.status}[/]"
        table.add_row(shown(rec.name), shown(rec.version), rec.source, status, shown(", ".join(rec.backends)))
    console.print(table)
    for rec in registry.failed():  # names and errors come from plugins: text, never markup or escape codes
        console_err.print(f"[red]{shown(rec.name)}[/] failed: {shown(rec.error)}", highlight=False)
        if show_traceback:
            console_err.print(shown(rec.traceback), highlight=False)
    if registry.failed() and not show_traceback:
        console_err.print("(run with --traceback for details)")


@app.command("install")
def install(
    requirement: str = typer.Argument(..., help="A wheel, a project folder, or a requirement such as 'name>=1.0'."),
    target: Path | None = typer.Option(
        None, "--target", help="Install only the plugin itself into this folder (its dependencies must already be "
        "importable); genstudio finds it when the folder is on PYTHONPATH."
    ),
    upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Upgrade the plugin if it is already installed."),
    no_build_isolation: bool = typer.Option(
        False, "--no-build-isolation", help="Build a source plugin with this environment's build tools (offline)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Install a plugin with pip into genstudio's own Python, then report what it added."""
    from genstudio.operations.plugins import install_plugin

    result = install_plugin(requirement=requirement, target=str(target) if target is not None else None,
                            upgrade=upgrade, no_build_isolation=no_build_isolation, progress=_print_log)
    if as_json:
        print_json(result.to_dict())
        return
    for plugin in result.added_plugins:
        backends = ", ".join(plugin["backends"]) or "none"
        console.print(f"added plugin [bold]{shown(plugin['name'])}[/] {shown(plugin['version'])}: backends "
                      f"{shown(backends)}", highlight=False)
    for plugin in result.upgraded_plugins:
        console.print(f"upgraded {shown(plugin['name'])} {shown(plugin['from'])} -> {shown(plugin['to'])}",
                      highlight=False)
    for plugin in result.reinstalled_plugins:
        console.print(f"reinstalled {shown(plugin['name'])} {shown(plugin['version'])}", highlight=False)
    if result.added_backends and not result.added_plugins:
        console.print(f"new backends: {shown(', '.join(result.added_backends))}", highlight=False)


@app.command("uninstall")
def uninstall(
    name: str = typer.Argument(..., help="Plugin name, as in `genstudio plugins list` (not a built-in one)."),
    target: Path | None = typer.Option(
        None, "--target", help="The folder it was installed into with `plugins install --target`."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Uninstall a plugin with the package that provides it, then report what was removed."""
    from genstudio.operations.plugins import uninstall_plugin

    result = uninstall_plugin(name=name, target=str(target) if target is not None else None, progress=_print_log)
    if as_json:
        print_json(result.to_dict())
        return
    for line in result.summary_lines():
        console.print(shown(line), highlight=False)


def _print_log(event: Event) -> None:
    """Progress sink for install: pip's output (log events) goes to stderr as it comes, so --json stdout stays clean."""
    if event.kind == "log":
        style = {"warning": "yellow", "error": "red"}.get(event.level)
        console_err.print(shown(event.message), style=style, highlight=False, soft_wrap=True)


def _set_enabled(name: str, enabled: bool) -> None:
    from genstudio.plugins import get_registry
    from genstudio.settings import DISABLE_ENV, Settings

    settings = Settings.load()
    registry = get_registry()
    if name not in registry.plugins:
        console_err.print(f"[yellow]note:[/] no plugin named {shown(repr(name))} is installed now; the setting is kept "
                          "anyway", highlight=False)
    settings.set_plugin_enabled(name, enabled)
    if enabled and name in settings.disabled_plugins():
        console_err.print(f"[yellow]note:[/] {shown(repr(name))} stays disabled while ${DISABLE_ENV} names it",
                          highlight=False)
    console.print(f"plugin {shown(name)} {'enabled' if enabled else 'disabled'} (saved in {shown(settings.path)})",
                  highlight=False)


@app.command("enable")
def enable(name: str = typer.Argument(..., help="Plugin name, as in `genstudio plugins list`.")) -> None:
    """Enable a plugin that was disabled."""
    _set_enabled(name, True)


@app.command("disable")
def disable(name: str = typer.Argument(..., help="Plugin name, as in `genstudio plugins list`.")) -> None:
    """Disable a plugin: it is no longer imported (also: $GENSTUDIO_DISABLE_PLUGINS=a,b)."""
    _set_enabled(name, False)


@app.command("folder")
def folder() -> None:
    """Print the user plugin folder (created if missing): drop name.py or name/ plugins there."""
    path = paths.plugin_dir()
    path.mkdir(parents=True, exist_ok=True)
    typer.echo(str(path))


@app.command("new")
def new(
    name: str = typer.Argument(..., help="The plugin's name, e.g. my-style: the entry point and the backend id."),
    kind: str = typer.Option(..., "--kind", help="generator, autoencoder, stylizer or translator."),
    onnx: bool = typer.Option(False, "--onnx", help="An ONNX-only backend (stylizer or translator): a graph shipped "
                              "as package data, run without torch."),
    folder: Path = typer.Option(Path("."), "--dir", help="Where to create the project folder."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a plugin project that installs and passes its own test: pyproject with the entry point, the hooks, a
    backend of KIND, and a test that installs it into a temporary folder and runs `genstudio backends check`."""
    from genstudio.scaffold import new_project

    project = new_project(name, kind, onnx=onnx, parent=folder)
    if as_json:
        print_json(project.to_dict())
        return
    console.print(f"created {shown(project.folder)}: backend {shown(project.backend)} ({kind}"
                  f"{', ONNX-only' if onnx else ''})", highlight=False)
    for relative in project.files:
        console.print(f"  {shown(relative)}", highlight=False)
    console.print(f"next: cd {shown(project.folder)} && python -m pytest tests", highlight=False)
