"""Built-in plugin: style transfer (work in progress)."""

from genstudio import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_backends():
    return []
