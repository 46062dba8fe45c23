"""genstudio: a local studio for deep generative image models.

Plugins import only what they need from here: `hookimpl` and the descriptor types. Importing genstudio is
cheap (no torch, no Qt).
"""

import pluggy

from genstudio._version import __version__
from genstudio.backends import BackendKind, BackendSpec, Capabilities, WeightsRef
from genstudio.errors import Cancelled, UserError
from genstudio.events import Event, Progress
from genstudio.inputs import InputKind, InputSpec
from genstudio.schema import ConfigField, ConfigSchema

hookimpl = pluggy.HookimplMarker("genstudio")

__all__ = [
    "BackendKind",
    "BackendSpec",
    "Cancelled",
    "Capabilities",
    "ConfigField",
    "ConfigSchema",
    "Event",
    "InputKind",
    "InputSpec",
    "Progress",
    "UserError",
    "WeightsRef",
    "__version__",
    "hookimpl",
]
