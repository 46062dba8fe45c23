"""The toy backend's code must be importable by its loader name; one torch thread keeps tiny steps fast."""

from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def toy_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add contention on a shared 2-core machine
    yield
    torch.set_num_threads(before)
