"""stylegan2_tiny must be importable (by the tests and by a subprocess); tiny steps run on one torch thread."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def tiny_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


@pytest.fixture(autouse=True)
def one_thread(single_torch_thread):
    """Every stylegan2 test runs on one torch thread (see the root conftest)."""
