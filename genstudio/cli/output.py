"""Shared output helpers for CLI commands: consoles, JSON printing, and `--set` handling."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import typer
from rich.console import Console

from genstudio.backends import BackendSpec

# emoji=False: `:smile:` in a file name or a plugin's message stays text (`shown` escapes markup, not emoji codes)
console = Console(emoji=False)  # stdout: tables and summaries
console_err = Console(stderr=True, emoji=False)  # stderr: progress bars, warnings and errors (--json stays clean)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout instead of tables.")
SET_OPTION = typer.Option(
    [],
    "--set",
    metavar="KEY=VALUE",
    help="Set a backend config field (repeatable). `genstudio backends show ID` lists the fields.",
)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # everything but tab and newline, C1 included


def shown(value: Any) -> str:
    """Text from outside (file names, provenance read from an image, job parameters, plugin messages) made safe to
    print through Rich: markup is escaped (`[/]`, `[link=...]` stay literal), control characters and escape
    sequences are shown as `\\x1b`-style escapes, and undecodable bytes of a file name as `\\udcff`."""
    from rich.markup import escape

    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return escape(text)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def resolve_config(spec: BackendSpec, assignments: list[str], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The backend's defaults, overlaid by `base` (e.g. a saved model's config), then the --set assignments."""
    values = dict(base or {})
    values.update(spec.schema.parse_assignments(assignments))
    return spec.schema.resolve(values)
