"""One contract, two adapter families: every test here runs on the real services and on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.families import FAMILIES, Family, drop_services, embedded_config, services_config
from support.services import Endpoints


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str],
           tmp_path: Path) -> Iterator[Family]:
    if request.param == "services":
        family = Family("services", services_config(services, names))
        family.store().ping()  # a service that is down fails the test here, with the reason
        drop: Callable[[], None] | None = lambda: drop_services(services, names)  # noqa: E731
    else:
        family = Family("embedded", embedded_config(tmp_path / "skalds.db", names))
        drop = None
    try:
        yield family
    finally:
        family.close(drop)
