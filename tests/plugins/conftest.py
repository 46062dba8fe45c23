"""Plugin tests use tiny networks: one torch thread each (see the root conftest)."""

import pytest


@pytest.fixture(autouse=True)
def one_thread(single_torch_thread):
    """Switch the root conftest's single_torch_thread on for every test here."""
