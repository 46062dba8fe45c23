"""Every hook a genstudio plugin can implement. The docstrings are the contract.

A plugin is a module (or any object) with functions decorated by `genstudio.hookimpl` whose names match the
specs below. Plugins are found through the entry-point group ``genstudio`` (the built-in plugins are found
this way too) and in the user plugin folder (``genstudio plugins folder`` prints it).

Rules for every hook:
- Keep the plugin's top-level module light: hooks run when plugins are *listed*, so they must not import torch
  or other heavy modules. Heavy code goes behind `BackendSpec.loader` and is imported on first use.
- A hook that raises marks its plugin as failed: the plugin is unregistered and its error is shown in
  ``genstudio plugins list``; genstudio and every other plugin keep working.
- A plugin built for another contract (``GENSTUDIO_CONTRACT``, see `CONTRACT_VERSION`) is listed as failed too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from genstudio.backends import BackendSpec
    from genstudio.operations.registry import Operation

hookspec = pluggy.HookspecMarker("genstudio")

# The version of the plugin contract: these hooks, the descriptors they return (`BackendSpec`, `Capabilities`,
# `InputSpec`, `WeightsRef`, `Operation`) and what a loaded backend must provide (genstudio.backends,
# genstudio.capabilities). MAJOR changes when something a plugin relies on changes or goes; MINOR when something is
# added. A plugin module says which contract it is built for with a module attribute, `GENSTUDIO_CONTRACT = "1.1"`:
# it loads when the major versions are equal and its minor is at most this one's; otherwise it is listed as failed
# with one line saying which version it needs. A plugin that says nothing is taken to be built for 1.0.
# 1.0: register_backends, register_operations, upgrade_model_config; torch backends; declared inputs/capabilities.
# 1.1: ONNX-only backends (Capabilities.runtime="onnx", onnx_graph), choice inputs (InputKind.CHOICE, blend),
#      WeightsRef.sha256 and .bundled, GENSTUDIO_CONTRACT itself.
# 1.2: ONNX-only generators (kind generator, runtime="onnx": a graph from z, batch x latent size, to images).
# 1.3: Capabilities.aspect (training images read at the config's aspect and aspect_fit).
CONTRACT_VERSION = "1.3"
CONTRACT_ATTRIBUTE = "GENSTUDIO_CONTRACT"


# --------------------------------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------------------------------


@hookspec
def register_backends() -> list[BackendSpec]:
    """Return the backends this plugin provides.

    Called once each time plugins are discovered (at CLI start when a command needs backends, at app start,
    and after ``genstudio plugins install``). Takes no arguments.

    Return a list of `genstudio.BackendSpec` (an empty list is fine). Each spec's ``id`` must be unique across
    all installed plugins: a duplicate id marks the *later* plugin as failed. The registry fills in each spec's
    ``plugin`` and ``plugin_version``; leave them empty. Return descriptors only: the implementation named by
    ``BackendSpec.loader`` is imported later, when the backend is first used.
    """


@hookspec
def register_operations() -> list[Operation]:
    """Return the operations this plugin adds, each a job kind (`genstudio jobs add KIND`, the app's queue).

    Called once each time plugins are discovered, right after ``register_backends``. Takes no arguments.

    Return a list of `genstudio.operations.registry.Operation` descriptors (an empty list is fine): the kind,
    the job runner as a ``"module:function"`` string (imported in the job's child process on first use; the
    function takes ``(params, progress, abort)`` and returns a JSON-safe dict), the required and path
    parameters. A kind that a built-in operation or another plugin already uses marks this plugin as failed.
    Like the backends' loaders, the runner's module is not imported here.
    """


# --------------------------------------------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def upgrade_model_config(backend: str, plugin_version: str, config: dict[str, Any]) -> dict[str, Any] | None:
    """Upgrade a saved model's config written by an older version of a backend's plugin.

    Called by `genstudio.models.load_model` for every model folder it loads, before the config is validated
    against the backend's current schema. ``backend`` is the backend id saved in model.json,
    ``plugin_version`` the version of the plugin that saved it and ``config`` the saved config (a copy: the
    hook may change it).

    Return the upgraded config when this plugin owns ``backend`` and something had to change, or None to
    leave it as it is (plugins that do not own the backend must return None). First non-None result wins.
    """
