"""Fixtures for tests that run on both backends, the real services and one embedded file.

Import them into a test module (`from support.two_families import both_fixture, family_fixture`), then
use them as `family` and `both`: `family` runs each
test twice, `both` gives factories of controllers and nodes on that backend (the controllers stop first,
and their logs print when the test fails)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.controller import ControllerFactory
from support.failure_logs import print_logs_on_failure
from support.nodes import NodeFactory
from support.services import Endpoints


@pytest.fixture(name="family", params=["services", "embedded"])
def family_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """The embedded file, or None for the real services."""
    return tmp_path / "embedded" / "skalds.db" if request.param == "embedded" else None


@pytest.fixture(name="both")
def both_fixture(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str], tmp_path: Path,
         family: Path | None) -> Iterator[tuple[ControllerFactory, NodeFactory]]:
    started = {kind: make(services, names, tmp_path, embedded=family)
               for kind, make in (("controller", ControllerFactory), ("node", NodeFactory))}
    try:
        yield started["controller"], started["node"]  # type: ignore[misc]
    finally:
        for kind, factory in started.items():
            factory.stop_all()
            print_logs_on_failure(request, {f"{kind} {n}": p.log for n, p in enumerate(factory.started)})
