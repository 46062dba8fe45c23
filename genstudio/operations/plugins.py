"""Plugin operations: install a plugin with pip, then report what it added; uninstall one.

`install_plugin` is what `genstudio plugins install`, the plugin-install job and the app's plugin manager all run.
pip runs out of process (with this interpreter, `sys.executable -m pip`); its output is streamed as log events;
discovery then runs again in process, so the new plugin's backends are usable at once. A plugin that was there
already and that pip installed again is reported as upgraded ("upgraded NAME a -> b") or reinstalled, and its
modules are imported afresh, so its new backends count too. `uninstall_plugin` (`genstudio plugins uninstall`,
the plugin-uninstall job, the app's Uninstall button) removes the distribution behind a plugin the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, EventSink, Progress

ABORT_POLL_S = 0.2  # how often the abort check is asked while pip runs
TERMINATE_GRACE_S = 10.0  # how long pip gets to stop after terminate() before it is killed


@dataclass
class InstallResult:
    """What an install did. `to_dict()` is what `genstudio plugins install --json` prints and the job stores."""

    requirement: str  # as the caller gave it
    command: list[str]  # the pip command line that ran
    pip_exit_code: int
    target: str | None = None  # the --target folder (absolute), None for the environment itself
    added_plugins: list[dict[str, Any]] = field(default_factory=list)  # PluginRecord.to_dict() of each new plugin
    added_backends: list[str] = field(default_factory=list)  # backend ids that were not there before, sorted
    upgraded_plugins: list[dict[str, str]] = field(default_factory=list)  # {"name", "from", "to"}: a new version
    reinstalled_plugins: list[dict[str, str]] = field(default_factory=list)  # {"name", "version"}: the same again

    def summary_lines(self) -> list[str]:
        """What happened, a line a plugin: "added NAME 1.0", "upgraded NAME 1.0 -> 1.1", "reinstalled NAME 1.0"."""
        return ([f"added {p['name']} {p['version']}" for p in self.added_plugins]
                + [f"upgraded {p['name']} {p['from']} -> {p['to']}" for p in self.upgraded_plugins]
                + [f"reinstalled {p['name']} {p['version']}" for p in self.reinstalled_plugins])

    def to_dict(self) -> dict[str, Any]:
        return {
            "added_plugins": [dict(plugin) for plugin in self.added_plugins],
            "added_backends": list(self.added_backends),
            "upgraded_plugins": [dict(plugin) for plugin in self.upgraded_plugins],
            "reinstalled_plugins": [dict(plugin) for plugin in self.reinstalled_plugins],
            "requirement": self.requirement,
            "target": self.target,
            "pip_exit_code": self.pip_exit_code,
            "command": list(self.command),
        }


_WHAT = "a wheel, a project folder, or a requirement such as 'name>=1.0'"
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip")


def pip_argument(requirement: str) -> str:
    """What pip is given for `requirement`, or a one-line UserError: only a path, a wheel or a requirement.

    An existing folder or file becomes its absolute path; text that looks like a path (a separator, a leading
    '.' or '~', an archive suffix) an absolute path too, so pip reads it as one (and says so if it is missing);
    anything else must be a PEP 508 requirement ('name>=1.0', 'name[extra]', 'name @ URL'). Anything that starts
    with '-' is a pip option, never passed on: `-r/etc/passwd` or `--index-url=...` would change what pip does.
    """
    text = str(requirement).strip()
    if not text:
        raise UserError(f"give a plugin to install: {_WHAT}")
    if text.startswith("-"):
        raise UserError(f"{text!r} looks like a pip option; give {_WHAT} (a file whose name starts with '-': "
                        f"write ./{text})")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise UserError(f"{text!r} holds control characters (a line break?); give {_WHAT}")
    local = Path(text).expanduser()
    if "://" not in text:
        if local.exists():
            return str(local.resolve())
        if any(sep in text for sep in ("/", os.sep, os.altsep or "/")) or text.startswith((".", "~")) \
                or text.lower().endswith(_ARCHIVES):
            return str(local.absolute())
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc).strip() else "not a valid requirement"
        raise UserError(f"cannot install {text!r}: give {_WHAT} ({reason})") from exc
    return text


def pip_command(requirement: str, *, target: str | None = None, upgrade: bool = False,
                no_build_isolation: bool = False) -> list[str]:
    """The pip command line `install_plugin` runs (this interpreter's pip); the requirement is checked first."""
    spec = pip_argument(requirement)
    if target is not None and str(target).startswith("-"):
        raise UserError(f"--target {target!r} is not a folder")
    command = [sys.executable, "-m", "pip", "install", spec, "--disable-pip-version-check"]
    if target is not None:
        # --target ignores what the environment has, so dependencies (genstudio itself!) would be fetched again
        command += ["--target", target, "--no-deps"]
    if upgrade:
        command.append("--upgrade")
    if no_build_isolation:
        command.append("--no-build-isolation")
    return command


def install_plugin(
    *,
    requirement: str,
    target: str | None = None,
    upgrade: bool = False,
    no_build_isolation: bool = False,
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> InstallResult:
    """Install `requirement` (a wheel, a project folder, or 'name>=1.0') with pip, then rediscover plugins.

    `target`: install only the plugin itself into this folder (its dependencies must already be importable); the
    folder is put on sys.path here, and genstudio finds the plugin in other processes when it is on PYTHONPATH.
    Raises UserError when pip fails, when no new plugin appeared, or when a new plugin failed to load; Cancelled
    (pip terminated) when `abort` answers True.
    """
    from genstudio.plugins import get_registry

    requirement = str(requirement).strip()
    pip_argument(requirement)  # refuse options and anything but a path, a wheel or a requirement before any work
    target_dir = str(Path(target).expanduser().resolve()) if target else None
    reporter = Progress(progress, f"Installing {requirement}", abort=abort)

    before = get_registry()
    known_plugins = {name for name, rec in before.plugins.items() if rec.status != "failed"}
    known_versions = {name: before.plugins[name].version for name in known_plugins}
    known_backends = set(before.backends)

    command = pip_command(requirement, target=target_dir, upgrade=upgrade, no_build_isolation=no_build_isolation)
    reporter.log(f"running: {shlex.join(command)}")  # quoted: what is shown can be pasted into a shell as is
    exit_code, lines = _run_pip(command, reporter)
    if exit_code != 0:
        raise UserError(f"pip could not install {requirement!r} (exit code {exit_code}): {_pip_error(lines)}")

    if target_dir is not None and target_dir not in sys.path:
        sys.path.insert(0, target_dir)
    installed = installed_distributions(lines)
    again = [name for name in known_plugins if _distribution(before.plugins[name].location) in installed]
    _forget_modules(before, again)  # their new code, not the modules this process imported before
    after = get_registry(refresh=True)
    added = [rec for name, rec in after.plugins.items() if name not in known_plugins]
    again_records = [after.plugins[name] for name in again if name in after.plugins]
    result = InstallResult(
        requirement=requirement,
        command=command,
        pip_exit_code=exit_code,
        target=target_dir,
        added_plugins=[rec.to_dict() for rec in added],
        added_backends=sorted(set(after.backends) - known_backends),
        upgraded_plugins=[{"name": rec.name, "from": known_versions[rec.name], "to": rec.version}
                          for rec in again_records if rec.version != known_versions[rec.name]],
        reinstalled_plugins=[{"name": rec.name, "version": rec.version} for rec in again_records
                             if rec.version == known_versions[rec.name]],
    )
    failed = [rec for rec in added + again_records if rec.status == "failed"]
    if failed:
        details = "; ".join(f"{rec.name}: {rec.error}" for rec in failed)
        raise UserError(f"pip installed {requirement!r}, but plugin(s) {', '.join(rec.name for rec in failed)} "
                        f"failed to load ({details}); see `genstudio plugins list --traceback`")
    if not added and not again_records:
        raise UserError(f"pip installed {requirement!r}, but no new genstudio plugin was found (does the package "
                        "declare an entry point in the 'genstudio' group, or was it installed already? add "
                        "--upgrade to replace an installed one)")
    reporter.finish("; ".join(result.summary_lines()))
    return result


@dataclass
class UninstallResult:
    """What an uninstall did. `to_dict()` is what `genstudio plugins uninstall --json` prints and the job stores."""

    name: str  # the plugin asked for
    distribution: str  # the distribution removed (with every plugin it provided)
    version: str
    location: str  # the folder it was installed in
    command: list[str]  # the pip command line that ran, or [] when files were removed from a --target folder
    removed_plugins: list[str] = field(default_factory=list)
    removed_backends: list[str] = field(default_factory=list)
    removed_files: int = 0  # a --target folder: files of the distribution's RECORD deleted
    pip_exit_code: int | None = None

    def summary_lines(self) -> list[str]:
        backends = ", ".join(self.removed_backends) or "none"
        return [f"removed {self.distribution} {self.version}: plugin(s) {', '.join(self.removed_plugins)}, "
                f"backends {backends}"]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "location": self.location, "command": list(self.command),
                "removed_plugins": list(self.removed_plugins), "removed_backends": list(self.removed_backends),
                "removed_files": self.removed_files, "pip_exit_code": self.pip_exit_code}


def uninstall_plugin(
    *,
    name: str,
    target: str | None = None,
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> UninstallResult:
    """Uninstall the plugin `name` (as `genstudio plugins list` names it) with the distribution that provides it,
    then rediscover plugins. A distribution in this environment is removed by pip (`sys.executable -m pip
    uninstall -y`); one in a --target folder (`target`, or a folder on PYTHONPATH outside the environment) by
    deleting the files its RECORD lists, never a file outside that folder. Built-in plugins (genstudio's own),
    plugin-folder files and unknown names are one UserError line each.
    """
    from genstudio.plugins import get_registry

    name = str(name).strip()
    target_dir = str(Path(target).expanduser().resolve()) if target else None
    if target_dir is not None and target_dir not in sys.path:
        sys.path.insert(0, target_dir)
        _refresh_metadata()
    reporter = Progress(progress, f"Uninstalling {name}", abort=abort)
    before = get_registry(refresh=target_dir is not None)
    record = before.plugins.get(name)
    if record is None:
        backend = before.backends.get(name)
        hint = f": it is a backend of plugin {backend.plugin!r}" if backend is not None else ""
        raise UserError(f"no plugin named {name!r} is installed{hint} (see `genstudio plugins list`)")
    if record.source == "builtin":
        raise UserError(f"{name!r} is built into genstudio and cannot be uninstalled; `genstudio plugins disable "
                        f"{name}` turns it off")
    if record.source != "entry point":
        raise UserError(f"{name!r} is a {record.source} plugin ({record.location}), not a pip installation; "
                        "remove its file to uninstall it")
    dist = _distribution_of(record, target_dir)
    dist_name = str(dist.metadata["Name"])
    location = Path(str(dist.locate_file(""))).resolve()
    if target_dir is not None and location != Path(target_dir):
        raise UserError(f"{name!r} is installed in {location}, not in --target {target_dir}")
    provided = [rec.name for rec in before.plugins.values() if _distribution(rec.location) == _normal(dist_name)]
    result = UninstallResult(name=name, distribution=dist_name, version=str(dist.version), location=str(location),
                             command=[])
    if target_dir is None and _inside_environment(location):
        result.command = [sys.executable, "-m", "pip", "uninstall", "-y", dist_name, "--disable-pip-version-check"]
        reporter.log(f"running: {shlex.join(result.command)}")
        result.pip_exit_code, lines = _run_pip(result.command, reporter)
        if result.pip_exit_code != 0:
            raise UserError(f"pip could not uninstall {dist_name!r} (exit code {result.pip_exit_code}): "
                            f"{_pip_error(lines)}")
    else:
        result.removed_files = _remove_recorded_files(dist, location, reporter)
    _forget_modules(before, provided)
    _refresh_metadata()
    after = get_registry(refresh=True)
    result.removed_plugins = sorted(set(provided) - set(after.plugins))
    result.removed_backends = sorted(set(before.backends) - set(after.backends))
    if name in after.plugins:
        raise UserError(f"{dist_name} was uninstalled, but plugin {name!r} is still found "
                        f"({after.plugins[name].location}): is it installed twice?")
    reporter.finish("; ".join(result.summary_lines()))
    return result


def _refresh_metadata() -> None:
    import importlib

    importlib.invalidate_caches()


def _distribution_of(record: Any, target_dir: str | None) -> Any:
    """The installed distribution behind an entry-point plugin record (looked for in `target_dir` when given)."""
    from importlib import metadata

    wanted = _distribution(record.location)
    search = metadata.distributions(path=[target_dir]) if target_dir is not None else metadata.distributions()
    for dist in search:
        if _normal(str(dist.metadata["Name"] or "")) == wanted:
            return dist
    where = f" in {target_dir}" if target_dir else ""
    raise UserError(f"cannot find the distribution of plugin {record.name!r} ({record.location}){where}")


def _inside_environment(location: Path) -> bool:
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return any(location == prefix or prefix in location.parents for prefix in prefixes)


def _remove_recorded_files(dist: Any, location: Path, reporter: Progress) -> int:
    """Delete the files the distribution's RECORD lists, inside `location` only, then the folders left empty.
    Returns how many files were deleted."""
    files = list(dist.files or [])
    if not files:
        raise UserError(f"{dist.metadata['Name']} in {location} lists no files (no RECORD): remove it by hand")
    removed, folders = 0, set()
    for entry in files:
        reporter.check_abort()
        path = Path(str(dist.locate_file(entry)))
        absolute = Path(os.path.abspath(path))
        if location not in absolute.parents:  # a script in ../bin, or a hostile RECORD: left alone
            reporter.log(f"left alone (outside {location}): {absolute}", "warning")
            continue
        if absolute.is_symlink() or absolute.is_file():
            absolute.unlink()
            removed += 1
        folders.update(parent for parent in absolute.parents if location in parent.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):  # deepest first; __pycache__ too
        cache = folder / "__pycache__"
        if cache.is_dir() and not cache.is_symlink():
            for leftover in cache.glob("*.pyc"):
                leftover.unlink()
            _rmdir_if_empty(cache)
        _rmdir_if_empty(folder)
    reporter.log(f"removed {removed} file(s) from {location}")
    return removed


def _rmdir_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: something else lives there too
        folder.rmdir()


def _normal(name: str) -> str:
    """A distribution name compared the way pip does (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(lines: list[str]) -> set[str]:
    """The distributions pip's output says it installed ("Successfully installed a-1.0 b-2.0"), normalised."""
    names: set[str] = set()
    for line in lines:
        if line.strip().startswith("Successfully installed "):
            for token in line.strip()[len("Successfully installed "):].split():
                names.add(_normal(token.rsplit("-", 1)[0]))
    return names


def _distribution(location: str) -> str:
    """The distribution of an entry-point plugin, from its record's location ("dist 1.0 (module)")."""
    return _normal(location.split(" ", 1)[0]) if location else ""


def _forget_modules(registry: Any, names: list[str]) -> None:
    """Drop the modules of these plugins (their entry points' top-level packages) from sys.modules, so discovery
    imports what pip just installed."""
    for name in names:
        record = registry.plugins[name]
        match = re.search(r"\(([\w.]+)(?::[\w.]+)?\)$", record.location)
        if record.source != "entry point" or not match:
            continue
        package = match.group(1).split(".")[0]
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]


def _run_pip(command: list[str], reporter: Progress) -> tuple[int, list[str]]:
    """Run pip, logging each output line as it comes and polling the abort check; returns (exit code, lines)."""
    import os
    import queue
    import subprocess
    import threading

    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    lines: list[str] = []
    incoming: queue.Queue[str | None] = queue.Queue()
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, encoding="utf-8", errors="replace", bufsize=1, env=env)
    except OSError as exc:
        raise UserError(f"could not start pip ({command[0]}): {exc}") from exc

    def read() -> None:  # a thread, so the abort check runs even while pip is silent
        assert process.stdout is not None
        for line in process.stdout:
            incoming.put(line)
        incoming.put(None)

    reader = threading.Thread(target=read, name="pip-output", daemon=True)
    reader.start()
    try:
        finished = False
        while not finished:
            try:
                line = incoming.get(timeout=ABORT_POLL_S)
            except queue.Empty:
                line = ""
            while line is not None:  # drain what is there, logging in this thread (sinks need not be thread-safe)
                if line.strip():
                    text = line.rstrip()
                    lines.append(text)
                    reporter.log(text, _level(text))
                try:
                    line = incoming.get_nowait()
                except queue.Empty:
                    break
            finished = line is None
            if not finished and reporter.abort():
                raise Cancelled(reporter.task)
        return process.wait(), lines
    finally:
        if process.poll() is None:  # aborted, or something raised: pip must not go on alone
            process.terminate()
            try:
                process.wait(timeout=TERMINATE_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=1.0)
        if process.stdout is not None:
            process.stdout.close()


def _level(line: str) -> str:
    if line.startswith("ERROR:") or line.startswith("error:"):
        return "error"
    if line.startswith("WARNING:"):
        return "warning"
    return "info"


def _pip_error(lines: list[str]) -> str:
    """The last meaningful error line of pip's output (with pip's hint, if it gave one)."""
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if line.startswith("ERROR:"):
            message = line[len("ERROR:"):].strip()
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if following.lower().startswith("hint:"):
                message += f" ({following})"
            return _shorten(message)
    for line in reversed(lines):
        line = line.strip()
        if line and not line.startswith("[notice]"):
            return _shorten(line)
    return "pip printed no error message"


def _shorten(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
