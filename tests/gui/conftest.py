"""GUI tests: offscreen Qt (set in the root conftest), one fresh plugin registry per test, no job worker unless a
test starts one, tiny models only."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

TINY_DCGAN = {"ngf": 4, "ndf": 4, "latent_dim": 8, "resolution": 32, "channels": 1}


@pytest.fixture
def registry():
    """The process-wide registry, rediscovered for this test's GENSTUDIO_HOME (its plugin folder, its settings)."""
    from genstudio.plugins import get_registry

    return get_registry(refresh=True)


@pytest.fixture
def queue(tmp_path):
    from genstudio.jobs import JobQueue

    return JobQueue(tmp_path / "jobs.sqlite3")


@pytest.fixture
def window(qtbot, registry, queue):
    from genstudio.gui.main_window import MainWindow

    win = MainWindow(queue, start_worker=False, registry=registry)
    qtbot.addWidget(win)
    yield win
    win.close()


def make_dcgan(folder, registry, **settings):
    """An untrained tiny dcgan model folder (generation does not care whether it is any good)."""
    import torch

    from genstudio.models import save_model

    spec = registry.backend("dcgan")
    config = spec.schema.resolve({**TINY_DCGAN, **settings})
    torch.manual_seed(0)
    save_model(folder, spec, config, spec.load().build(config).state_dict())
    return folder


@pytest.fixture
def tiny_model(tmp_path, registry, single_torch_thread):
    return make_dcgan(tmp_path / "tiny-dcgan", registry)
