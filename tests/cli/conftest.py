"""The `skalds` fixture: a function running the installed console script."""

from __future__ import annotations

import pytest

from cli.runner import SKALDS, run_skalds


@pytest.fixture
def skalds():
    assert SKALDS.exists(), f"{SKALDS} missing: run scripts/bootstrap (pip install -e .[dev])"
    return run_skalds
