"""`genstudio backends`: list backends, and show one backend's config fields (with --set to try values)."""

from __future__ import annotations

import typer
from rich.table import Table

from genstudio.cli.output import JSON_OPTION, SET_OPTION, console, print_json, resolve_config, shown

app = typer.Typer(help="List backends or show one backend's settings.", invoke_without_command=True)


def _flags(spec) -> str:
    """The declared capabilities that are on, as in genstudio.capabilities.CAPABILITIES."""
    from genstudio.backends import declared
    from genstudio.capabilities import CAPABILITIES

    caps = spec.capabilities
    names = [name.replace("_", " ") for name in CAPABILITIES
             if name not in ("pretrained_weights", "truncation", "tile_safe", "runtime") and declared(spec, name)]
    if declared(spec, "runtime"):
        names.append("onnx-only (no torch)")
    if caps.truncation != "prior" and spec.kind.value in ("generator", "autoencoder"):
        names.append(f"truncation {caps.truncation}")
    names += [f"needs {ref.name}" for ref in caps.pretrained_weights]
    return ", ".join(names)


def _inputs(spec) -> str:
    return ", ".join(f"{entry.option}" + ("" if entry.required else " (optional)") for entry in spec.inputs)


@app.callback()
def list_backends(
    ctx: typer.Context,
    as_json: bool = JSON_OPTION,
    kind: str | None = typer.Option(
        None, "--kind", help="Only this kind: generator, autoencoder, stylizer, translator."
    ),
) -> None:
    """List the backends of every loaded plugin."""
    if ctx.invoked_subcommand is not None:
        return
    from genstudio.plugins import get_registry

    specs = sorted(get_registry().backends.values(), key=lambda spec: (spec.kind.value, spec.id))
    if kind:
        specs = [spec for spec in specs if spec.kind.value == kind]
    if as_json:
        print_json({"backends": [spec.to_dict() for spec in specs]})
        return
    table = Table(title="genstudio backends", title_justify="left")
    for column in ("id", "kind", "name", "plugin", "inputs", "capabilities"):
        table.add_column(column)
    for spec in specs:
        table.add_row(shown(spec.id), spec.kind.value, shown(spec.name), shown(f"{spec.plugin} {spec.plugin_version}"),
                      shown(_inputs(spec)), shown(_flags(spec)))  # plugin text is shown as text, never as markup
    console.print(table)


@app.command("show")
def show(
    backend: str = typer.Argument(..., help="Backend id, as in `genstudio backends`."),
    assignments: list[str] = SET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a backend's description and config fields; with --set, validate values and show the result."""
    from genstudio.plugins import get_registry

    spec = get_registry().backend(backend)
    config = resolve_config(spec, assignments)
    if as_json:
        print_json({"backend": spec.to_dict(), "config": config})
        return
    origin = f"from plugin {spec.plugin} {spec.plugin_version}"
    console.print(f"[bold]{shown(spec.name)}[/] ({shown(spec.id)}, {spec.kind.value}) {shown(origin)}")
    console.print(shown(spec.description), highlight=False)
    for entry in spec.inputs:
        choices = f" ({' | '.join(entry.choices)})" if entry.choices else ""
        console.print(f"input {entry.option}{choices}: {entry.help or entry.kind.value}"
                      + ("" if entry.required else " [optional]"), highlight=False, markup=False)
    if _flags(spec):
        console.print(f"capabilities: {_flags(spec)}", highlight=False)
    table = Table(title_justify="left")
    for column in ("setting", "value", "type", "range / choices", "help"):
        table.add_column(column)
    for item in spec.schema:
        if item.choices:
            allowed = " | ".join(item.choices)
        elif item.min is not None or item.max is not None:
            allowed = f"{'' if item.min is None else f'{item.min:g}'} .. {'' if item.max is None else f'{item.max:g}'}"
        else:
            allowed = ""
        value = shown(config[item.name])
        if config[item.name] != item.default:
            value = f"[bold]{value}[/] (default {shown(item.default)})"
        table.add_row(shown(item.name), value, item.type, shown(allowed), shown(item.help))
    console.print(table)


_CHECK_STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow"}


@app.command("check")
def check(
    backend: str = typer.Argument(..., help="Backend id (as in `genstudio backends`), or a model folder."),
    assignments: list[str] = SET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Conformance: run a backend through every operation and entry point it declares on tiny data (the command
    line, a job, the app; shapes, ranges, determinism, ONNX parity) and print what fails (exit 1 if anything does).
    A trainable backend is checked on an untrained model folder; --set makes a large default config small."""
    from genstudio.conformance import check_backend

    def show(item) -> None:
        if not as_json:
            style = _CHECK_STYLE[item.status]
            console.print(f"[{style}]{item.status:4}[/] {item.name:12} {item.seconds:5.1f}s  {shown(item.detail)}",
                          highlight=False)

    report = check_backend(backend, assignments=list(assignments), progress=show)
    if as_json:
        print_json(report.to_dict())
    else:
        failed = report.failed
        verdict = "[green]conforms[/]" if not failed else f"[bold red]{len(failed)} check(s) failed[/]"
        console.print(f"{shown(report.backend)} (plugin {shown(report.plugin)}, {report.kind}): {verdict}",
                      highlight=False)
    raise typer.Exit(0 if report.passed else 1)
