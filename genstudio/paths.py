"""Where genstudio keeps its own files.

Everything lives under platformdirs' per-user folders, unless GENSTUDIO_HOME is set, in which case everything
lives under that one folder (tests and portable installs use it).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "genstudio"


def _home_override() -> Path | None:
    value = os.environ.get("GENSTUDIO_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """User data: the plugin folder, the job database."""
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """User settings (settings.json)."""
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Disposable caches (decoded datasets)."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def plugin_dir() -> Path:
    """Drop a plugin module (`name.py`) or package (`name/__init__.py`) here and genstudio loads it."""
    return data_dir() / "plugins"


def settings_file() -> Path:
    return config_dir() / "settings.json"
