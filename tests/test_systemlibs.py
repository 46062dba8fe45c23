"""The app names a missing X11/xcb library (and its apt package) before Qt starts; the check never imports Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from genstudio.errors import UserError
from genstudio.gui import systemlibs

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f2a)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f2a)
\tlibxcb-icccm.so.4 => not found
"""


def test_parse_ldd_lists_not_found_once_in_order():
    assert systemlibs.parse_ldd(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert systemlibs.parse_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_missing_library_is_named_with_its_package():
    seen = []

    def lookup(plugin):
        seen.append(plugin)
        return ["libxcb-icccm.so.4", "libxcb-cursor.so.0", "libweird.so.9"]

    line = systemlibs.display_problem(lookup=lookup, plugin=Path("/x/libqxcb.so"), environ={}, platform="linux")
    assert seen == [Path("/x/libqxcb.so")]
    assert "\n" not in line
    assert "libxcb-icccm.so.4, libxcb-cursor.so.0, libweird.so.9" in line
    assert "sudo apt-get install libxcb-icccm4 libxcb-cursor0 libweird.so.9" in line


def test_nothing_missing_or_not_xcb_means_no_problem():
    assert systemlibs.display_problem(lookup=lambda plugin: [], plugin=None, environ={}, platform="linux") is None
    always = lambda plugin: ["libxcb-icccm.so.4"]  # noqa: E731
    assert systemlibs.display_problem(lookup=always, environ={"QT_QPA_PLATFORM": "offscreen"},
                                      platform="linux") is None
    assert systemlibs.display_problem(lookup=always, environ={"WAYLAND_DISPLAY": "wayland-0"},
                                      platform="linux") is None
    assert systemlibs.display_problem(lookup=always, environ={}, platform="darwin") is None
    assert systemlibs.display_problem(lookup=always, plugin=None, environ={"QT_QPA_PLATFORM": "xcb",
                                                                          "WAYLAND_DISPLAY": "w"},
                                      platform="linux") is not None


def test_without_ldd_each_known_library_is_asked_of_the_loader(monkeypatch):
    monkeypatch.setattr(systemlibs.shutil, "which", lambda name: None)
    monkeypatch.setattr(systemlibs, "loadable", lambda soname: soname != "libxcb-keysyms.so.1")
    assert systemlibs.ldd_missing(Path("/x/libqxcb.so")) == ["libxcb-keysyms.so.1"]


def test_packages_are_listed_once():
    assert systemlibs.packages_for(["libglib-2.0.so.0", "libgthread-2.0.so.0"]) == ["libglib2.0-0"]


def test_app_refuses_to_start_with_one_line_before_qt(monkeypatch):
    from genstudio.gui import app

    monkeypatch.setattr(systemlibs, "display_problem", lambda: "the app's window needs libxcb-icccm.so.4")
    monkeypatch.setitem(sys.modules, "PySide6.QtWidgets", None)  # reaching Qt would be an ImportError, not a hang
    with pytest.raises(UserError, match="libxcb-icccm.so.4"):
        app.run([])


def test_the_check_imports_no_qt():
    code = ("import sys; from genstudio.gui import systemlibs, app; systemlibs.display_problem(); "
            "print([m for m in sys.modules if m.startswith('PySide6.Qt')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
