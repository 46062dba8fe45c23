"""Typed backend configuration: fields with defaults, ranges and help text.

A backend's `ConfigSchema` drives the CLI's `--set key=value` options and the GUI's parameter forms, and
validates every configuration before work starts, so a typo is a one-line error rather than a crash mid-run.
Importing this module is cheap (no torch).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from genstudio.errors import UserError

FieldType = Literal["int", "float", "bool", "str", "choice"]
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class ConfigField:
    """One setting of a backend."""

    name: str  # the key used in --set and model.json; lower_snake_case
    type: FieldType
    default: Any
    help: str  # one sentence: the CLI's help and the GUI's tooltip
    min: float | None = None  # inclusive bounds for int/float
    max: float | None = None
    choices: tuple[str, ...] = ()  # allowed values for type "choice"
    label: str = ""  # short label for forms; defaults to the name with spaces
    allowed: tuple[int, ...] = ()  # type "int" only: the only values accepted (resolutions a network can build)

    def __post_init__(self) -> None:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"config field {self.name!r} is a choice with no choices")
        if self.allowed and (self.type != "int" or not all(type(v) is int for v in self.allowed)):
            raise ValueError(f"config field {self.name!r}: allowed values are for int fields, as ints")
        self.validate(self.default)  # a bad default is the plugin author's bug: fail at registration

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    def parse(self, text: str) -> Any:
        """Convert a command-line string to this field's type and validate it."""
        text = text.strip()
        try:
            if self.type == "int":
                value: Any = int(text)
            elif self.type == "float":
                value = float(text)
            elif self.type == "bool":
                lowered = text.lower()
                if lowered not in _TRUE | _FALSE:
                    raise ValueError
                value = lowered in _TRUE
            else:
                value = text
        except ValueError:
            raise UserError(f"{self.name}: expected {self._expected()}, got {text!r}") from None
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        """Check a typed value (from JSON or Python); returns it, normalised (int -> float for floats)."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise UserError(f"{self.name}: expected {self._expected()}, got {value!r}")
        elif self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise UserError(f"{self.name}: expected {self._expected()}, got {value!r}")
        elif self.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UserError(f"{self.name}: expected {self._expected()}, got {value!r}")
            value = float(value)
        elif not isinstance(value, str):
            raise UserError(f"{self.name}: expected {self._expected()}, got {value!r}")
        if self.type == "choice" and value not in self.choices:
            raise UserError(f"{self.name}: expected one of {', '.join(self.choices)}; got {value!r}")
        if self.allowed and value not in self.allowed:
            raise UserError(f"{self.name}: expected one of {', '.join(map(str, self.allowed))}; got {value!r}")
        if self.type in ("int", "float"):
            if self.min is not None and value < self.min:
                raise UserError(f"{self.name}: {value} is below the minimum {self.min:g}")
            if self.max is not None and value > self.max:
                raise UserError(f"{self.name}: {value} is above the maximum {self.max:g}")
        return value

    def _expected(self) -> str:
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        if self.allowed:
            return "one of " + ", ".join(map(str, self.allowed))
        bounds = ""
        if self.min is not None or self.max is not None:
            low = "-inf" if self.min is None else f"{self.min:g}"
            high = "inf" if self.max is None else f"{self.max:g}"
            bounds = f" in [{low}, {high}]"
        names = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text"}
        return names[self.type] + bounds

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default, "help": self.help}
        if self.min is not None:
            data["min"] = self.min
        if self.max is not None:
            data["max"] = self.max
        if self.choices:
            data["choices"] = list(self.choices)
        if self.label:
            data["label"] = self.label
        if self.allowed:
            data["allowed"] = list(self.allowed)
        return data


class ConfigSchema:
    """An ordered set of `ConfigField`s."""

    def __init__(self, fields: Iterable[ConfigField] = ()):
        self.fields: dict[str, ConfigField] = {}
        for item in fields:
            if item.name in self.fields:
                raise ValueError(f"config field {item.name!r} declared twice")
            self.fields[item.name] = item

    def __iter__(self):
        return iter(self.fields.values())

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def defaults(self) -> dict[str, Any]:
        return {item.name: item.default for item in self}

    def field(self, name: str) -> ConfigField:
        try:
            return self.fields[name]
        except KeyError:
            raise UserError(self._unknown(name)) from None

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.fields), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(self.fields) or "none"
        return f"unknown setting {name!r}{hint} (settings: {known})"

    def resolve(self, values: Mapping[str, Any] | None = None, *, strict: bool = True) -> dict[str, Any]:
        """Defaults overlaid with `values` (typed values, e.g. from model.json), all validated.

        With strict=False, unknown keys are dropped instead of rejected (reading a file a newer plugin wrote).
        """
        config = self.defaults()
        for name, value in (values or {}).items():
            if name not in self.fields:
                if strict:
                    raise UserError(self._unknown(name))
                continue
            config[name] = self.fields[name].validate(value)
        return config

    def parse_assignments(self, assignments: Iterable[str]) -> dict[str, Any]:
        """Parse `key=value` strings (the CLI's repeated --set) into typed values; unknown keys are errors."""
        parsed: dict[str, Any] = {}
        for text in assignments:
            key, sep, raw = text.partition("=")
            key = key.strip()
            if not sep or not key:
                raise UserError(f"a setting must be given as key=value (--set key=value), got {text!r}")
            parsed[key] = self.field(key).parse(raw)
        return parsed

    def to_list(self) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self]
