"""The system libraries Qt's X11 window needs on Linux, checked before Qt is started (Qt-free).

On a fresh Debian or Ubuntu, PySide6's wheel brings Qt but not the X11/xcb libraries its `xcb` platform plugin
links against; QApplication then aborts the process with a message that names the plugin, not the missing library.
`display_problem()` looks first, the way `ldd` does (it runs `ldd` on the plugin when there is one, else asks the
dynamic loader for each library the plugin is known to need), and returns one line naming the missing libraries and
the apt packages that provide them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib.util import find_spec
from pathlib import Path

# soname -> Debian/Ubuntu package; what PySide6 6.x's libqxcb.so and libQt6XcbQpa.so.6 link against beyond glibc
# (checked with `ldd .../PySide6/Qt/plugins/platforms/libqxcb.so`)
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
XINERAMA = "libxcb-xinerama.so.0"  # Qt 6.5+ no longer links it; only older wheels need it

Lookup = Callable[[Path | None], list[str]]  # the xcb plugin (None: not found) -> sonames the loader cannot find


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing PySide6 (so without loading Qt); None if absent."""
    spec = find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for candidate in (Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so",
                          Path(root) / "plugins" / "platforms" / "libqxcb.so"):
            if candidate.is_file():
                return candidate
    return None


def ldd_missing(plugin: Path | None) -> list[str]:
    """The libraries the dynamic loader cannot find for `plugin`: `ldd`'s "=> not found" lines; without `ldd` (or
    without the plugin) each library of DEBIAN_PACKAGES the plugin needs is loaded by name to see."""
    ldd = shutil.which("ldd")
    if plugin is not None and ldd is not None:
        try:
            output = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20,
                                    errors="replace").stdout
        except (OSError, subprocess.SubprocessError):
            output = None
        if output is not None:
            return parse_ldd(output)
    return [name for name in DEBIAN_PACKAGES if name != XINERAMA and not loadable(name)]


def parse_ldd(output: str) -> list[str]:
    """The sonames `ldd` printed as "NAME => not found", in order, once each."""
    missing: list[str] = []
    for line in output.splitlines():
        name, arrow, where = line.strip().partition("=>")
        if arrow and where.strip().startswith("not found") and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds and loads `soname`."""
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def packages_for(missing: Iterable[str]) -> list[str]:
    """The apt packages that provide these sonames (an unknown soname is listed as itself), once each."""
    packages: list[str] = []
    for name in missing:
        package = DEBIAN_PACKAGES.get(name, name)
        if package not in packages:
            packages.append(package)
    return packages


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt will open its window through xcb: QT_QPA_PLATFORM says xcb, or says nothing on an X11 session
    (no Wayland display). offscreen, wayland, vnc ... need none of these libraries."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if platform:
        return platform == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def display_problem(*, lookup: Lookup = ldd_missing, plugin: Path | None | bool = True,
                    environ: dict[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """One line naming the libraries Qt's X11 window cannot find, with the apt command that installs them; None
    when nothing is missing or the check does not apply (not Linux, or a platform other than xcb).
    `lookup` and `plugin` are replaceable for tests (plugin=True: find PySide6's own)."""
    if not platform.startswith("linux") or not uses_xcb(environ):
        return None
    where = xcb_plugin() if plugin is True else (plugin or None)
    missing = lookup(where)
    if not missing:
        return None
    return (f"the app's window needs system libraries that are missing: {', '.join(missing)}; on Debian/Ubuntu "
            f"install them with: sudo apt-get install {' '.join(packages_for(missing))} (the README's 'System "
            "libraries' section lists them all)")
