"""Persisted user settings: a small JSON file, written atomically.

Only plain JSON values are stored. Unknown keys are kept (a newer version may have written them); a corrupt
file is reported as a UserError naming the file rather than silently replaced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genstudio import paths
from genstudio.errors import UserError
from genstudio.fileio import atomic_write_json

DISABLE_ENV = "GENSTUDIO_DISABLE_PLUGINS"  # comma-separated plugin names, on top of the persisted list


@dataclass
class Settings:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or paths.settings_file()
        if not path.exists():
            return cls(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"settings file {path} is unreadable ({exc}); fix or delete it") from exc
        if not isinstance(values, dict):
            raise UserError(f"settings file {path} must hold a JSON object; fix or delete it")
        return cls(path, values)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value
        atomic_write_json(self.path, self.values)

    # -- disabled plugins -------------------------------------------------------------------------------------
    def disabled_plugins(self) -> set[str]:
        """Names disabled in the settings file plus those in $GENSTUDIO_DISABLE_PLUGINS."""
        persisted = {str(name) for name in self.values.get("disabled_plugins", [])}
        from_env = {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}
        return persisted | from_env

    def set_plugin_enabled(self, name: str, enabled: bool) -> None:
        names = {str(n) for n in self.values.get("disabled_plugins", [])}
        names.discard(name) if enabled else names.add(name)
        self.set("disabled_plugins", sorted(names))
