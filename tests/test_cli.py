"""The `genstudio` command line, run as a subprocess: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import sys

from PIL import Image

from genstudio import __version__


def test_version(run_cli):
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"genstudio {__version__}"


def test_help_is_fast_and_imports_no_torch():
    import subprocess

    code = (
        "import sys\n"
        "sys.argv = ['genstudio', '--help']\n"
        "from genstudio.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'onnxruntime', 'PySide6')]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "plugins" in result.stdout and "backends" in result.stdout


def test_plugins_list_json_lists_builtins_with_backends(run_cli):
    result = run_cli("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {item["name"]: item for item in json.loads(result.stdout)["plugins"]}
    assert plugins["shapes"]["source"] == "builtin"
    assert plugins["shapes"]["status"] == "loaded"
    assert plugins["shapes"]["version"] == __version__
    assert "shapes" in plugins["shapes"]["backends"]


def test_backends_json(run_cli):
    result = run_cli("backends", "--json")
    assert result.returncode == 0, result.stderr
    backends = {item["id"]: item for item in json.loads(result.stdout)["backends"]}
    assert backends["shapes"]["kind"] == "generator"
    assert backends["shapes"]["plugin"] == "shapes"
    assert any(field["name"] == "resolution" for field in backends["shapes"]["config"])
    only_stylizers = json.loads(run_cli("backends", "--json", "--kind", "stylizer").stdout)["backends"]
    assert all(item["kind"] == "stylizer" for item in only_stylizers)


def test_backends_show_applies_set(run_cli):
    result = run_cli("backends", "show", "shapes", "--set", "resolution=32", "--set", "palette=mono", "--json")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)["config"]
    assert config["resolution"] == 32 and config["palette"] == "mono"
    table = run_cli("backends", "show", "shapes", "--set", "resolution=32")
    assert table.returncode == 0 and "default 64" in table.stdout


def test_user_errors_are_one_line_with_exit_code_2(run_cli):
    for args, message in [
        (("backends", "show", "shapes", "--set", "resolutoin=32"), "did you mean 'resolution'"),
        (("backends", "show", "shapes", "--set", "resolution=9999"), "above the maximum"),
        (("backends", "show", "nope"), "unknown backend 'nope'"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], result.stderr
        assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(run_cli):
    result = run_cli("--debug", "backends", "show", "nope")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "UserError" in result.stderr


def test_broken_plugin_is_listed_and_everything_else_works(run_cli, isolated_home):
    folder = isolated_home / "data" / "plugins"
    folder.mkdir(parents=True)
    (folder / "explodes.py").write_text("raise RuntimeError('kaboom at import')\n")
    listing = run_cli("plugins", "list", "--json", "--traceback")
    assert listing.returncode == 0
    plugins = {item["name"]: item for item in json.loads(listing.stdout)["plugins"]}
    assert plugins["explodes"]["status"] == "failed"
    assert "RuntimeError: kaboom at import" in plugins["explodes"]["error"]
    assert "Traceback" in plugins["explodes"]["traceback"]
    assert plugins["explodes"]["source"] == "plugin folder"
    table = run_cli("plugins", "list")
    assert table.returncode == 0 and "explodes failed: RuntimeError: kaboom at import" in table.stderr
    assert run_cli("backends", "show", "shapes").returncode == 0


def test_disable_and_enable_are_persisted(run_cli):
    assert run_cli("plugins", "disable", "shapes").returncode == 0
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "list", "--json").stdout)["plugins"]}
    assert plugins["shapes"]["status"] == "disabled"
    assert "shapes" not in json.loads(run_cli("backends", "--json").stdout)["backends"]
    assert run_cli("plugins", "enable", "shapes").returncode == 0
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "list", "--json").stdout)["plugins"]}
    assert plugins["shapes"]["status"] == "loaded"
    env_disabled = run_cli("plugins", "list", "--json", env={"GENSTUDIO_DISABLE_PLUGINS": "shapes"})
    assert {p["name"]: p["status"] for p in json.loads(env_disabled.stdout)["plugins"]}["shapes"] == "disabled"


def test_plugins_folder(run_cli, isolated_home):
    result = run_cli("plugins", "folder")
    assert result.returncode == 0
    assert result.stdout.strip() == str(isolated_home / "data" / "plugins")


def test_data_check_reports_bad_files_and_exits_1(run_cli, tmp_path):
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for index in range(3):
            Image.new("RGB", (10, 12), (index * 40, 0, 0)).save(tmp_path / label / f"{index}.png")
    (tmp_path / "b" / "broken.png").write_bytes(b"not an image")
    result = run_cli("data", "check", str(tmp_path), "--resolution", "8", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["loaded"] == 6
    assert report["classes"] == ["a", "b"]
    assert [bad["path"].endswith("broken.png") for bad in report["skipped"]] == [True]
    (tmp_path / "b" / "broken.png").unlink()
    clean = run_cli("data", "check", str(tmp_path), "--resolution", "8")
    assert clean.returncode == 0, clean.stderr
    assert "6 images" in clean.stdout


def test_data_check_missing_folder_is_a_user_error(run_cli, tmp_path):
    result = run_cli("data", "check", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "missing" in result.stderr and "Traceback" not in result.stderr
