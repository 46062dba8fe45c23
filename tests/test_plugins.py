"""Plugin discovery: a fresh PluginManager per test; entry points only where a test asks for them."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import genstudio
from genstudio import BackendKind, BackendSpec, hookimpl, hookspecs
from genstudio.errors import UserError
from genstudio.plugins import discover, get_plugin_manager
from genstudio.settings import DISABLE_ENV, Settings

from .toys import write_plugin

TESTS = Path(__file__).parent


def spec(backend_id: str, loader: str = "json:dumps") -> BackendSpec:
    return BackendSpec(backend_id, BackendKind.GENERATOR, backend_id.title(), "A test backend.", loader)


class GoodPlugin:
    __version__ = "2.0"

    @hookimpl
    def register_backends(self):
        return [spec("alpha"), spec("beta")]


class RaisingPlugin:
    @hookimpl
    def register_backends(self):
        raise RuntimeError("boom in hook")


class GarbagePlugin:
    @hookimpl
    def register_backends(self):
        return ["not a spec"]


class ClashingPlugin:
    @hookimpl
    def register_backends(self):
        return [spec("alpha")]


# -- the hook contract ---------------------------------------------------------------------------------------------


def hookspec_functions():
    return [(name, fn) for name, fn in vars(hookspecs).items() if hasattr(fn, "genstudio_spec")]


def test_every_hookspec_is_documented():
    specs = hookspec_functions()
    assert specs, "no hookspecs found"
    for name, fn in specs:
        doc = inspect.getdoc(fn) or ""
        assert len(doc) > 150, f"hookspec {name} needs a docstring that states its contract"
        assert "Return" in doc, f"hookspec {name}: docstring must say what to return"
        assert "Called" in doc, f"hookspec {name}: docstring must say when it is called"
        for param in inspect.signature(fn).parameters:
            assert f"``{param}``" in doc, f"hookspec {name}: parameter {param} is not documented"


def test_every_hookspec_is_exercised_by_a_test():
    """A hook counts as tested when some test module calls it through a plugin manager or registry."""
    this_check = inspect.getsource(test_every_hookspec_is_exercised_by_a_test)
    sources = {path: path.read_text().replace(this_check, "") for path in TESTS.rglob("*.py")}
    for name, _ in hookspec_functions():
        callers = [path.name for path, text in sources.items() if f"hook.{name}" in text or f"def {name}(" in text]
        assert callers, f"hookspec {name} is not exercised by any test"


def test_hookimpl_marker_is_exported_from_the_package_root():
    assert genstudio.hookimpl.project_name == "genstudio"
    manager = get_plugin_manager()
    assert manager.project_name == "genstudio"
    assert {name for name, _ in hookspec_functions()} <= set(vars(manager.hook))


def test_upgrade_model_config_hook_is_called_first_result_wins():
    class Owner:
        @hookimpl
        def upgrade_model_config(self, backend, plugin_version, config):
            return {**config, "upgraded_from": plugin_version} if backend == "mine" else None

    class Bystander:
        @hookimpl
        def upgrade_model_config(self, backend, plugin_version, config):
            return None

    registry = discover(entry_points=False, plugin_dir=Path("/nonexistent"), disabled=set(),
                        extra=[("owner", Owner()), ("bystander", Bystander())])
    hook = registry.manager.hook
    assert hook.upgrade_model_config(backend="mine", plugin_version="0.9", config={"a": 1}) == {
        "a": 1, "upgraded_from": "0.9"}
    assert hook.upgrade_model_config(backend="other", plugin_version="0.9", config={"a": 1}) is None


# -- discovery and isolation of failures ---------------------------------------------------------------------------


def test_in_process_plugins_register_backends_with_plugin_and_version(tmp_path):
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set(), extra=[("good", GoodPlugin())])
    assert sorted(registry.backends) == ["alpha", "beta"]
    assert registry.backend("alpha").plugin == "good"
    assert registry.backend("alpha").plugin_version == "2.0"
    assert registry.plugins["good"].status == "loaded"
    assert registry.plugins["good"].backends == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (RaisingPlugin(), "RuntimeError: boom in hook"),
        (GarbagePlugin(), "TypeError: register_backends must return a list of BackendSpec"),
        (ClashingPlugin(), "already registered by plugin 'good'"),
    ],
)
def test_a_failing_plugin_costs_only_itself(tmp_path, bad, error):
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set(),
                        extra=[("good", GoodPlugin()), ("bad", bad)])
    record = registry.plugins["bad"]
    assert record.status == "failed"
    assert error in record.error
    assert "Traceback" in record.traceback
    assert not registry.manager.has_plugin("bad")  # unregistered: later hooks never reach it
    assert sorted(registry.backends) == ["alpha", "beta"]
    assert [r.name for r in registry.failed()] == ["bad"]


def test_plugin_folder_modules_and_packages(tmp_path):
    write_plugin(tmp_path, "single", """
        from genstudio import BackendKind, BackendSpec, hookimpl
        __version__ = "0.3"
        @hookimpl
        def register_backends():
            return [BackendSpec("single", BackendKind.STYLIZER, "Single", "d", "json:dumps")]
    """)
    package = tmp_path / "pkgplug"
    package.mkdir()
    (package / "__init__.py").write_text("from .hooks import register_backends\n")
    (package / "hooks.py").write_text(textwrap.dedent("""
        from genstudio import BackendKind, BackendSpec, hookimpl
        @hookimpl
        def register_backends():
            return [BackendSpec("pkg-backend", BackendKind.TRANSLATOR, "Pkg", "d", "json:dumps")]
    """))
    write_plugin(tmp_path, "syntaxerr", "def broken(:\n")
    write_plugin(tmp_path, "importerr", "import module_that_does_not_exist_anywhere\n")
    write_plugin(tmp_path, "exits", "raise SystemExit(3)\n")
    (tmp_path / "_private.py").write_text("raise RuntimeError('never imported')\n")
    (tmp_path / "bad-name.py").write_text("")

    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set())
    status = {name: rec.status for name, rec in registry.plugins.items()}
    assert status == {"single": "loaded", "pkgplug": "loaded", "syntaxerr": "failed", "importerr": "failed",
                      "exits": "failed", "bad-name": "failed"}
    assert registry.plugins["single"].version == "0.3"
    assert registry.plugins["single"].source == "plugin folder"
    assert "SyntaxError" in registry.plugins["syntaxerr"].error
    assert "ModuleNotFoundError" in registry.plugins["importerr"].error
    assert registry.backend("pkg-backend").kind is BackendKind.TRANSLATOR
    assert sorted(registry.backends) == ["pkg-backend", "single"]


def test_disabled_plugins_are_listed_but_not_imported(tmp_path, monkeypatch):
    write_plugin(tmp_path, "noisy", "raise RuntimeError('imported although disabled')\n")
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled={"noisy"})
    assert registry.plugins["noisy"].status == "disabled"

    Settings.load().set_plugin_enabled("noisy", False)  # persisted setting, read when disabled=None
    assert discover(entry_points=False, plugin_dir=tmp_path).plugins["noisy"].status == "disabled"
    Settings.load().set_plugin_enabled("noisy", True)
    assert discover(entry_points=False, plugin_dir=tmp_path).plugins["noisy"].status == "failed"
    monkeypatch.setenv(DISABLE_ENV, "other,noisy")
    assert discover(entry_points=False, plugin_dir=tmp_path).plugins["noisy"].status == "disabled"


def test_entry_point_plugins_from_a_distribution(tmp_path, monkeypatch):
    """A fake installed distribution on sys.path: found through the entry-point group, with its version."""
    site = tmp_path / "site"
    dist_info = site / "fancy_plugin-3.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: fancy-plugin\nVersion: 3.1\n")
    (dist_info / "entry_points.txt").write_text("[genstudio]\nfancy = fancy_plugin\nbroken = fancy_broken\n")
    (site / "fancy_plugin.py").write_text(textwrap.dedent("""
        from genstudio import BackendKind, BackendSpec, hookimpl
        @hookimpl
        def register_backends():
            return [BackendSpec("fancy", BackendKind.GENERATOR, "Fancy", "d", "json:dumps")]
    """))
    (site / "fancy_broken.py").write_text("raise ImportError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(site))

    registry = discover(entry_points=True, plugin_dir=tmp_path / "none", disabled=set())
    fancy = registry.plugins["fancy"]
    assert (fancy.status, fancy.version, fancy.source) == ("loaded", "3.1", "entry point")
    assert registry.backend("fancy").plugin_version == "3.1"
    assert registry.plugins["broken"].status == "failed"
    assert "needs libfoo" in registry.plugins["broken"].error
    # the built-in plugins come through the same group, from genstudio's own distribution
    assert registry.plugins["shapes"].source == "builtin"
    assert "shapes" in registry.backends
    import genstudio_restore  # a built-in shows its own version (restore 0.2 changed its network), not genstudio's

    assert registry.plugins["restore"].version == genstudio_restore.__version__ != genstudio.__version__
    assert registry.backend("restore").plugin_version == genstudio_restore.__version__


def test_two_plugins_with_one_name(tmp_path):
    write_plugin(tmp_path, "good", "from genstudio import hookimpl\n")
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set(), extra=[("good", GoodPlugin())])
    assert registry.plugins["good"].status == "loaded"
    clash = [rec for rec in registry.plugins.values() if rec.source == "plugin folder"]
    assert clash[0].status == "failed" and "name already used" in clash[0].error


def test_unknown_backend_error_helps(tmp_path):
    write_plugin(tmp_path, "broken", "raise RuntimeError('x')\n")
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled={"off"},
                        extra=[("good", GoodPlugin()), ("off", GoodPlugin())])
    with pytest.raises(UserError) as info:
        registry.backend("alpah")
    message = str(info.value)
    assert "did you mean 'alpha'" in message
    assert "disabled plugins: off" in message
    assert "failed plugins: broken" in message


def test_backend_load_is_lazy_and_failures_name_the_backend(tmp_path):
    registry = discover(entry_points=False, plugin_dir=tmp_path, disabled=set(), extra=[("good", GoodPlugin())])
    import json

    assert registry.backend("alpha").load() is json.dumps
    broken = spec("gamma", "no_such_module_xyz:thing").with_plugin("good", "2.0")
    with pytest.raises(UserError, match="backend 'gamma' .* failed to load no_such_module_xyz:thing"):
        broken.load()


def test_bad_descriptors_are_rejected():
    with pytest.raises(ValueError, match="lower-case"):
        spec("Bad Id")
    with pytest.raises(ValueError, match="package.module:attr"):
        spec("ok", loader="not a loader")
    assert BackendSpec("x", "stylizer", "X", "d", "a:b").kind is BackendKind.STYLIZER


def test_listing_imports_no_torch():
    code = (
        "import sys\n"
        "from genstudio.plugins import discover\n"
        "registry = discover()\n"
        "assert registry.backends, 'no backends found'\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('torch', 'torchvision', 'onnxruntime', 'PySide6'))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_hookspec_module_parses_into_banner_groups():
    """Hooks are grouped under banner comments (one contract file); guards against a hook added outside them."""
    source = Path(hookspecs.__file__).read_text()
    tree = ast.parse(source)
    hook_lines = [node.lineno for node in tree.body if isinstance(node, ast.FunctionDef)]
    banner_lines = [i + 1 for i, line in enumerate(source.splitlines()) if line.startswith("# ----")]
    assert hook_lines and banner_lines and min(banner_lines) < min(hook_lines)
