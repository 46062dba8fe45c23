"""The plugin manager's Uninstall button: off for built-ins and plugin-folder files (saying why), a queued
plugin-uninstall job for an installed plugin, run by the queue's worker, after which the app no longer lists it."""

from __future__ import annotations

import importlib
import sys

import pytest

from tests.test_uninstall_operation import fake_distribution


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """fakeplug installed in a folder on sys.path (outside the environment), found by a fresh discovery."""
    from genstudio.plugins import get_registry

    site = fake_distribution(tmp_path / "site")
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    importlib.invalidate_caches()
    get_registry(refresh=True)
    yield site
    for name in [name for name in sys.modules if name.startswith("fakeplug")]:
        del sys.modules[name]
    get_registry(refresh=True)


def _select(dialog, name):
    row = [record.name for record in dialog.model.records].index(name)
    dialog.table.selectRow(row)


def test_built_ins_cannot_be_uninstalled(window, qtbot):
    dialog = window.open_plugin_manager()
    qtbot.addWidget(dialog)
    _select(dialog, "gan")
    assert not dialog.uninstall_button.isEnabled()
    assert "built into genstudio" in dialog.uninstall_button.toolTip()
    dialog._uninstall(confirm=False)
    assert window.queue.list() == []


def test_uninstall_is_queued_and_the_worker_runs_it(window, qtbot, installed):
    from genstudio.jobs import Worker

    dialog = window.open_plugin_manager()
    qtbot.addWidget(dialog)
    dialog.reload()
    _select(dialog, "fake")
    assert dialog.uninstall_button.isEnabled()
    dialog._uninstall(confirm=False)
    (job,) = window.queue.list()
    assert (job.kind, job.params) == ("plugin-uninstall", {"name": "fake"})
    assert "Queued the removal of fake" in dialog.status.text()
    (finished,) = Worker(window.queue, poll_interval=0.05).run(once=True)
    assert finished.status == "done", finished.error
    assert finished.result["removed_plugins"] == ["fake"] and not (installed / "fakeplug").exists()
    window._job_event(finished)  # as the window's own worker would report it
    dialog.reload()
    assert "fake" not in [record.name for record in dialog.model.records]
