"""Errors a user can cause, and errors a plugin causes.

A `UserError` carries one clear line for the person at the keyboard; the CLI and the GUI catch it at their edge
and show the line (exit code 2 on the command line). A `PluginError` is a plugin's own bug: one line naming the
plugin and backend, with the original traceback kept for --debug (exit code 3 on the command line). Anything
else is a bug in genstudio and keeps its traceback.
"""

from __future__ import annotations

import os
import traceback as _traceback

DEBUG_ENV = "GENSTUDIO_DEBUG"  # "1" while `genstudio --debug ...` runs (or when set by the user)


def debug_enabled() -> bool:
    """True when tracebacks should be shown (`genstudio --debug`, or GENSTUDIO_DEBUG=1 in the environment)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


class UserError(Exception):
    """Bad input, a missing file, an unknown backend: something the user can fix. `str(err)` is one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))  # one line, whatever the caller wrote


class ImageDecodeError(UserError):
    """An image file that cannot be used; the message says which file and why."""


class ModelFileError(UserError):
    """A model folder that cannot be loaded; the message says which file and why."""


class Cancelled(Exception):
    """Raised inside long work when its abort check answers True; callers treat it as a clean stop."""


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message` (just `Type` when the message is empty)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class PluginError(Exception):
    """A plugin's own bug (not something the user can fix, so not a `UserError`).

    `str(err)` is one line: "plugin genstudio_style (backend gatys) failed: ZeroDivisionError: division by zero".
    `error` is the original exception and `traceback` its formatted traceback (shown under --debug).
    """

    exit_code = 3

    def __init__(self, plugin: str, backend: str, error: BaseException, traceback: str | None = None):
        self.plugin, self.backend, self.error = plugin, backend, error
        self.traceback = traceback if traceback is not None else "".join(_traceback.format_exception(error))
        super().__init__(f"{self.owner_text()} failed: {one_line(error)}")

    def owner_text(self) -> str:
        if self.plugin and self.backend:
            return f"plugin {self.plugin} (backend {self.backend})"
        if self.plugin or self.backend:
            return f"plugin {self.plugin}" if self.plugin else f"backend {self.backend}"
        return "plugin"

    def __reduce__(self):  # picklable (job workers), although __init__ takes more than the message
        return (type(self), (self.plugin, self.backend, self.error, self.traceback))

    @classmethod
    def from_exception(cls, error: BaseException, plugin: str = "", backend: str = "") -> PluginError:
        """A PluginError for an exception just caught from plugin code; `raise PluginError.from_exception(exc,
        ...)` shows the original traceback under it too (its __cause__)."""
        wrapped = cls(plugin, backend, error)
        wrapped.__cause__ = error
        return wrapped
