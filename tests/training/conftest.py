"""The toy backend's code must be importable by its loader name; one torch thread keeps tiny steps fast."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def toy_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def one_thread(single_torch_thread):
    """Every training test runs on one torch thread (see the root conftest)."""
