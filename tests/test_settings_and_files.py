import os

import pytest

from genstudio import paths
from genstudio.errors import UserError
from genstudio.fileio import atomic_write, atomic_write_json, sha256_file
from genstudio.settings import DISABLE_ENV, Settings


def test_paths_follow_genstudio_home(isolated_home):
    assert paths.plugin_dir() == isolated_home / "data" / "plugins"
    assert paths.settings_file() == isolated_home / "config" / "settings.json"
    assert paths.cache_dir().is_relative_to(isolated_home)


def test_disabled_plugins_persist_and_merge_with_environment(monkeypatch):
    settings = Settings.load()
    settings.set_plugin_enabled("gan", False)
    settings.set_plugin_enabled("vae", False)
    settings.set_plugin_enabled("vae", True)
    assert Settings.load().disabled_plugins() == {"gan"}
    monkeypatch.setenv(DISABLE_ENV, " style , extra,")
    assert Settings.load().disabled_plugins() == {"gan", "style", "extra"}


def test_corrupt_settings_file_is_a_user_error_naming_it():
    paths.settings_file().parent.mkdir(parents=True)
    paths.settings_file().write_text("{not json")
    with pytest.raises(UserError, match="settings.json"):
        Settings.load()


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "out.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half a fi")
        raise RuntimeError("killed mid-write")
    assert target.read_text().strip().startswith("{")
    assert sorted(os.listdir(tmp_path)) == ["out.json"]  # no temp file left behind


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    target = tmp_path / "shared.json"
    atomic_write_json(target, {})
    reference = tmp_path / "plain.json"
    reference.write_text("{}")
    assert target.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


def test_sha256_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
