"""Errors a user can cause.

A `UserError` carries one clear line for the person at the keyboard; the CLI and the GUI catch it at their edge
and show the line (exit code 2 on the command line). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


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
