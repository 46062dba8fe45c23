"""The README's plugin section documents the whole backend contract: every kind, input kind, capability and hook.
A new one that is not documented fails here, as does a documented one that no longer exists."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pluggy

from genstudio import hookspecs
from genstudio.backends import BackendKind, Capabilities
from genstudio.capabilities import CAPABILITIES
from genstudio.inputs import InputKind

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text under a `#### title` heading, up to the next heading."""
    match = re.search(rf"^#### {re.escape(title)}\n(.*?)(?=^#)", README, re.S | re.M)
    assert match, f"README has no '#### {title}' section"
    return match.group(1)


def _first_column(section: str) -> list[str]:
    """The backticked names in the first column of a markdown table (header and rule skipped)."""
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def test_every_kind_is_documented_with_its_methods():
    rows = _first_column(README[README.index("| kind | the module provides |"):])
    assert rows[:len(BackendKind)] == [kind.value for kind in BackendKind]


def test_every_input_kind_is_documented():
    assert _first_column(_section("Declared inputs")) == [kind.value for kind in InputKind]


def test_every_capability_is_documented_and_real():
    documented = _first_column(_section("Declared capabilities"))
    assert documented == list(CAPABILITIES)
    fields = {f.name for f in dataclasses.fields(Capabilities)} - {"conditional", "needs_style_image"}
    assert set(CAPABILITIES) == fields
    for row in CAPABILITIES.values():
        assert row.protocol is None or row.protocol.__doc__, f"{row.name}: its Protocol has no docstring"


def test_every_hook_is_documented():
    hooks = [name for name in dir(hookspecs) if isinstance(getattr(hookspecs, name), type(lambda: None))
             and pluggy.HookspecMarker("genstudio").project_name + "_spec" in vars(getattr(hookspecs, name))]
    assert hooks, "found no hookspecs"
    for name in hooks:
        assert f"`{name}(" in README, f"hook {name} is not in the README"
        assert getattr(hookspecs, name).__doc__, f"hook {name} has no docstring (its contract)"
