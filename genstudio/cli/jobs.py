"""`genstudio jobs ...`: the persistent job queue."""

from __future__ import annotations

import typer

app = typer.Typer(help="The persistent job queue shared by the CLI and the app.", no_args_is_help=True)
