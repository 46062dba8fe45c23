"""Plugin discovery: one pluggy PluginManager, fed by entry points and the user plugin folder.

`discover()` builds a `PluginRegistry`: every plugin found, whether it loaded, failed or is disabled, and
the backends the loaded ones registered. Discovery imports only the plugins' light top-level modules (no
torch). A plugin that fails to import, or whose hook raises or returns garbage, is recorded as failed with
its error and traceback, and unregistered; everything else keeps working.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pluggy

from genstudio import hookspecs, paths
from genstudio.backends import BackendSpec, checked_descriptors
from genstudio.errors import UserError

ENTRY_POINT_GROUP = "genstudio"
# When set (os.pathsep-separated folders, may be empty), entry points load only from the genstudio distribution
# itself and from distributions installed under one of these folders: the test suite sets it, so a plugin that
# happens to be installed beside genstudio cannot change what the tests see. Unset (users): every entry point.
ENTRY_POINTS_ONLY_IN_ENV = "GENSTUDIO_ENTRY_POINTS_ONLY_IN"
PluginSource = Literal["builtin", "entry point", "plugin folder", "in process"]
PluginStatus = Literal["loaded", "failed", "disabled"]
_FOLDER_PACKAGE = "genstudio_user_plugins"  # namespace for modules loaded from the plugin folder


@dataclass
class PluginRecord:
    """One plugin as discovery saw it."""

    name: str
    version: str
    source: PluginSource
    location: str  # the distribution, file or folder it came from
    status: PluginStatus = "loaded"
    error: str = ""  # one line: "ImportError: No module named 'foo'"
    traceback: str = ""  # the full traceback, shown on request
    backends: list[str] = field(default_factory=list)

    def to_dict(self, with_traceback: bool = False) -> dict[str, Any]:
        data = {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "location": self.location,
            "status": self.status,
            "error": self.error,
            "backends": list(self.backends),
        }
        if with_traceback:
            data["traceback"] = self.traceback
        return data


def get_plugin_manager() -> pluggy.PluginManager:
    """A new, empty PluginManager with genstudio's hookspecs."""
    manager = pluggy.PluginManager("genstudio")
    manager.add_hookspecs(hookspecs)
    return manager


class PluginRegistry:
    """The result of discovery: the plugin manager, every plugin's record, and the registered backends."""

    def __init__(self, manager: pluggy.PluginManager):
        self.manager = manager
        self.plugins: dict[str, PluginRecord] = {}
        self.backends: dict[str, BackendSpec] = {}
        self.operations: dict[str, Any] = {}  # kind -> genstudio.operations.registry.Operation

    # -- building -------------------------------------------------------------------------------------------
    def add(self, record: PluginRecord, plugin: object | None) -> None:
        """Register a loaded plugin object (or record a failed/disabled one) under `record.name`."""
        if record.name in self.plugins:
            other = self.plugins[record.name]
            record.status, record.error = "failed", f"name already used by the plugin from {other.location}"
            self.plugins[f"{record.name} ({record.location})"] = record
            return
        self.plugins[record.name] = record
        if plugin is None or record.status != "loaded":
            return
        try:
            self.manager.register(plugin, name=record.name)
        except Exception as exc:  # pluggy validates hookimpl names and signatures
            self._fail(record, exc)

    def collect_backends(self) -> None:
        """Call every loaded plugin's register_backends, one plugin at a time so one failure costs one plugin."""
        for impl in list(self.manager.hook.register_backends.get_hookimpls()):
            record = self.plugins[impl.plugin_name]
            try:
                specs = impl.function()
                specs = _check_specs(specs)
                for spec in specs:
                    if spec.id in self.backends:
                        owner = self.backends[spec.id].plugin
                        raise UserError(f"backend id {spec.id!r} is already registered by plugin {owner!r}")
            except Exception as exc:
                self._fail(record, exc)
                continue
            for spec in specs:
                self.backends[spec.id] = spec.with_plugin(record.name, record.version)
                record.backends.append(spec.id)

    def collect_operations(self) -> None:
        """Call every loaded plugin's register_operations; a bad result or a clash with a built-in or another
        plugin's kind costs that plugin."""
        from dataclasses import replace

        from genstudio.operations.registry import BUILTIN, check_operations

        builtin = {op.kind for op in BUILTIN}
        for impl in list(self.manager.hook.register_operations.get_hookimpls()):
            record = self.plugins[impl.plugin_name]
            try:
                operations = check_operations(impl.function())
                for op in operations:
                    if op.kind in builtin or op.kind in self.operations:
                        raise UserError(f"operation {op.kind!r} is already registered")
            except Exception as exc:
                self._fail(record, exc)
                continue
            for op in operations:
                self.operations[op.kind] = replace(op, plugin=record.name)

    def _fail(self, record: PluginRecord, exc: BaseException) -> None:
        record.status = "failed"
        record.error = _one_line(exc)
        record.traceback = "".join(traceback.format_exception(exc))
        for spec_id in record.backends:
            self.backends.pop(spec_id, None)
        record.backends.clear()
        for kind in [kind for kind, op in self.operations.items() if op.plugin == record.name]:
            del self.operations[kind]
        if self.manager.has_plugin(record.name):
            self.manager.unregister(name=record.name)

    # -- queries ----------------------------------------------------------------------------------------------
    def backend(self, backend_id: str) -> BackendSpec:
        """The backend with this id, or a UserError that says what is installed and why it might be missing."""
        if backend_id in self.backends:
            return self.backends[backend_id]
        disabled = [name for name, rec in self.plugins.items() if rec.status == "disabled"]
        failed = [name for name, rec in self.plugins.items() if rec.status == "failed"]
        close = difflib.get_close_matches(backend_id, list(self.backends), n=1)
        hints = [f"did you mean {close[0]!r}?"] if close else []
        hints.append("installed: " + (", ".join(sorted(self.backends)) or "none"))
        if disabled:
            hints.append("disabled plugins: " + ", ".join(disabled))
        if failed:
            hints.append("failed plugins: " + ", ".join(failed) + " (see genstudio plugins list)")
        raise UserError(f"unknown backend {backend_id!r}; " + "; ".join(hints))

    def plugin(self, name: str) -> PluginRecord:
        if name in self.plugins:
            return self.plugins[name]
        raise UserError(f"unknown plugin {name!r}; installed: {', '.join(sorted(self.plugins)) or 'none'}")

    def failed(self) -> list[PluginRecord]:
        return [rec for rec in self.plugins.values() if rec.status == "failed"]


def discover(
    *,
    entry_points: bool = True,  # load plugins from the "genstudio" entry-point group (built-ins included)
    plugin_dir: Path | None = None,  # the user plugin folder; None: paths.plugin_dir(); a missing folder is fine
    disabled: Iterable[str] | None = None,  # plugin names not to load; None: from settings and the environment
    extra: Iterable[tuple[str, object]] = (),  # (name, plugin object) pairs registered in process (tests, embedding)
) -> PluginRegistry:
    """Find, load and register plugins; never raises for a broken plugin."""
    if disabled is None:
        from genstudio.settings import Settings

        disabled = Settings.load().disabled_plugins()
    disabled = set(disabled)
    registry = PluginRegistry(get_plugin_manager())

    for name, plugin in extra:
        record = PluginRecord(name, str(getattr(plugin, "__version__", "0")), "in process", "in process")
        _add_unless_disabled(registry, record, disabled, lambda plugin=plugin: plugin)
    if entry_points:
        about: dict[int, tuple[str, str]] = {}  # parsing a METADATA file costs ~4 ms: once per distribution
        for entry in _entry_points():
            dist = entry.dist
            if dist is not None and id(dist) not in about:
                metadata = dist.metadata
                about[id(dist)] = (metadata["Name"], metadata["Version"])
            dist_name, version = about[id(dist)] if dist is not None else ("?", "?")
            source: PluginSource = "builtin" if dist_name == "genstudio" else "entry point"
            record = PluginRecord(entry.name, version, source, f"{dist_name} {version} ({entry.value})")
            _add_unless_disabled(registry, record, disabled, entry.load)
    folder = plugin_dir if plugin_dir is not None else paths.plugin_dir()
    for name, path in _folder_plugins(folder):
        record = PluginRecord(name, "?", "plugin folder", str(path))
        _add_unless_disabled(registry, record, disabled, lambda name=name, path=path: _import_path(name, path))

    registry.collect_backends()
    registry.collect_operations()
    return registry


def _add_unless_disabled(registry: PluginRegistry, record: PluginRecord, disabled: set[str], load) -> None:
    if record.name in disabled:
        record.status = "disabled"
        registry.add(record, None)
        return
    try:
        plugin = load()
    except BaseException as exc:  # SystemExit or KeyboardInterrupt at import time still costs only the plugin
        if isinstance(exc, KeyboardInterrupt):
            raise
        record.status = "failed"
        record.error = _one_line(exc)
        record.traceback = "".join(traceback.format_exception(exc))
        registry.add(record, None)
        return
    if (record.version in ("?", "0") or record.source == "builtin") and getattr(plugin, "__version__", None):
        record.version = str(plugin.__version__)  # a built-in's own version (restore 0.2), not genstudio's
    problem = contract_problem(plugin)
    if problem:
        record.status, record.error = "failed", problem
        registry.add(record, None)
        return
    registry.add(record, plugin)


def _contract(text: str) -> tuple[int, int]:
    major, _, minor = str(text).strip().partition(".")
    return int(major), int(minor or 0)


def contract_problem(plugin: object) -> str:
    """One line when `plugin` is built for a plugin contract this genstudio does not provide, else ""."""
    wanted = getattr(plugin, hookspecs.CONTRACT_ATTRIBUTE, None)
    if wanted is None:
        return ""
    ours = _contract(hookspecs.CONTRACT_VERSION)
    try:
        theirs = _contract(str(wanted))
    except ValueError:
        return f"{hookspecs.CONTRACT_ATTRIBUTE} = {wanted!r} is not a contract version such as '1.1'"
    if theirs[0] == ours[0] and theirs[1] <= ours[1]:
        return ""
    needed = f"needs genstudio plugin contract {theirs[0]}.{theirs[1]}; this genstudio provides " \
             f"{hookspecs.CONTRACT_VERSION}"
    return needed + (" (upgrade genstudio)" if theirs > ours else " (the plugin is too old for it: upgrade the plugin)")


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """Entry points of the group, one per name (a distribution seen twice on sys.path counts once); only those
    $GENSTUDIO_ENTRY_POINTS_ONLY_IN allows, when it is set."""
    allowed = _allowed_folders()
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is None or _entry_point_allowed(entry, allowed):
            seen.setdefault(entry.name, entry)
    return sorted(seen.values(), key=lambda entry: entry.name)


def _allowed_folders() -> list[Path] | None:
    """The folders $GENSTUDIO_ENTRY_POINTS_ONLY_IN names (resolved), or None when it is not set."""
    value = os.environ.get(ENTRY_POINTS_ONLY_IN_ENV)
    if value is None:
        return None
    return [Path(part).expanduser().resolve() for part in value.split(os.pathsep) if part.strip()]


def _entry_point_allowed(entry: importlib.metadata.EntryPoint, folders: list[Path]) -> bool:
    """Whether `entry` comes from genstudio's own distribution or from one installed under one of `folders`."""
    dist = entry.dist
    if dist is None:
        return False
    if str(dist.metadata["Name"] or "").lower().replace("_", "-") == "genstudio":
        return True
    try:
        location = Path(str(dist.locate_file(""))).resolve()
    except (OSError, NotImplementedError, TypeError):
        return False
    return any(location == folder or folder in location.parents for folder in folders)


def _folder_plugins(folder: Path) -> list[tuple[str, Path]]:
    """`name.py` files and `name/__init__.py` packages directly in the plugin folder."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")):
            continue
        if path.is_file() and path.suffix == ".py":
            found.append((path.stem, path))
        elif path.is_dir() and (path / "__init__.py").is_file():
            found.append((path.name, path / "__init__.py"))
    return found


def _import_path(name: str, path: Path) -> object:
    """Import a plugin-folder module under a private namespace so it cannot shadow installed packages."""
    if not name.isidentifier():
        raise ImportError(f"{path.name!r} is not a valid Python module name")
    if _FOLDER_PACKAGE not in sys.modules:  # a bare namespace parent for the folder's modules
        parent = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(_FOLDER_PACKAGE, None, is_package=True))
        parent.__path__ = []
        sys.modules[_FOLDER_PACKAGE] = parent
    module_name = f"{_FOLDER_PACKAGE}.{name}"
    search = [str(path.parent)] if path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(module_name, path, submodule_search_locations=search)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _check_specs(specs: Any) -> list[BackendSpec]:
    return checked_descriptors(specs, BackendSpec, "register_backends", "id")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_registry: PluginRegistry | None = None


def get_registry(refresh: bool = False) -> PluginRegistry:
    """The process-wide registry, discovered on first use (CLI and app); `refresh=True` discovers again."""
    global _registry
    if _registry is None or refresh:
        importlib.invalidate_caches()
        _registry = discover()
    return _registry
