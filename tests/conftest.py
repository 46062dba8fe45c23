"""Shared fixtures. Every test gets its own GENSTUDIO_HOME, so no test reads or writes the real user folders, and
sees only the built-in plugins plus those it installs itself (under its tmp_path): a plugin installed beside
genstudio in this environment is ignored (GENSTUDIO_ENTRY_POINTS_ONLY_IN, honoured by genstudio.plugins)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # GUI tests run without a display
# Entry points only from genstudio's own distribution (narrowed further per test below), from the first discovery
# on: also at collection, and in every process a test starts (the CLI, job workers), which inherit it.
ENTRY_POINTS_ONLY_IN = "GENSTUDIO_ENTRY_POINTS_ONLY_IN"  # genstudio.plugins.ENTRY_POINTS_ONLY_IN_ENV
os.environ[ENTRY_POINTS_ONLY_IN] = ""

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, tmp_path, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("genstudio-home")
    monkeypatch.setenv("GENSTUDIO_HOME", str(home))
    monkeypatch.delenv("GENSTUDIO_DISABLE_PLUGINS", raising=False)
    monkeypatch.setenv(ENTRY_POINTS_ONLY_IN, str(tmp_path))  # the built-ins, and what this test installs
    return home


@pytest.fixture
def single_torch_thread():
    """Tiny networks run as fast on one torch thread, and much faster when tests share two cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def use_plugins(tmp_path, monkeypatch):
    """`use_plugins(name=module, ...)`: a registry of just those plugin modules (no entry points, an empty plugin
    folder), installed as what `genstudio.plugins.get_registry` returns for the test; returns the registry."""

    def use(**modules):
        from genstudio.plugins import discover

        found = discover(entry_points=False, plugin_dir=tmp_path / "plugins", disabled=set(),
                         extra=list(modules.items()))
        monkeypatch.setattr("genstudio.plugins.get_registry", lambda refresh=False: found)
        return found

    return use


@pytest.fixture
def run_cli():
    """Run `python -m genstudio ARGS` in a subprocess (the real entry point, real exit codes)."""
    import subprocess

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = dict(os.environ, COLUMNS="200", **(env or {}))  # wide: tables unwrapped
        return subprocess.run(
            [sys.executable, "-m", "genstudio", *args], capture_output=True, text=True, env=full_env, timeout=timeout
        )

    return run
