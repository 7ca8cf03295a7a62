"""Shared fixtures: service endpoints, isolated names per test, and real node processes.

A test that needs a service which is down fails with the reason (never skips).
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

# A suite started in the background of a non-interactive shell inherits SIGINT ignored, and so would every
# process it starts: the tests that stop a CLI with Ctrl-C (exit 130) need it caught, as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from support.cluster import Cluster  # noqa: E402
from support.controller import ControllerFactory  # noqa: E402
from support.failure_logs import print_logs_on_failure  # noqa: E402
from support.nodes import NodeFactory  # noqa: E402
from support.private_services import PrivateServices  # noqa: E402
from support.services import Endpoints, endpoints  # noqa: E402


@pytest.fixture(scope="session")
def services() -> Endpoints:
    return endpoints()


@pytest.fixture
def names() -> dict[str, str]:
    """Unique names so tests never see each other's data: topic prefix, database, Redis key prefix."""
    token = uuid.uuid4().hex[:10]
    return {
        "token": token,
        "topic_prefix": f"t{token}.",
        "db_name": f"skalds_test_{token}",
        "redis_prefix": f"t{token}:",
    }


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def fleet() -> list[NodeFactory | ControllerFactory]:
    """The test's node and controller factories: the first to stop signals all of them, so their
    shutdowns (a second or two each) overlap instead of adding up."""
    return []


def stop_with_fleet(factory: NodeFactory | ControllerFactory, fleet: list[NodeFactory | ControllerFactory]) -> None:
    for member in fleet:
        member.signal_all()
    factory.stop_all()


@pytest.fixture
def nodes(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str],
          tmp_path: Path, cluster: Cluster, fleet: list) -> Iterator[NodeFactory]:
    """Nodes stop before `cluster` drops the test's database."""
    factory = NodeFactory(services, names, tmp_path)
    fleet.append(factory)
    try:
        yield factory
    finally:
        stop_with_fleet(factory, fleet)
        print_logs_on_failure(request, {f"node {node.skald_id}": node.log for node in factory.started})


@pytest.fixture
def controllers(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str],
                tmp_path: Path, cluster: Cluster, fleet: list) -> Iterator[ControllerFactory]:
    """Controllers stop before `cluster` drops the test's database (FerretDB's SQLite backend
    can crash when a database file is dropped under open connections)."""
    factory = ControllerFactory(services, names, tmp_path)
    fleet.append(factory)
    try:
        yield factory
    finally:
        stop_with_fleet(factory, fleet)
        print_logs_on_failure(request, {f"controller :{c.port}": c.log for c in factory.started})


@pytest.fixture
def private(tmp_path: Path) -> Iterator[PrivateServices]:
    """A private Kafka, FerretDB and Redis on free ports, for tests that freeze or restart them."""
    services = PrivateServices(tmp_path / "services")
    services.up()
    try:
        yield services
    finally:
        services.reset()


@pytest.fixture
def script_environment(services: Endpoints, names: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                       tmp_path: Path) -> None:
    """The environment of a 0.3.8 script: the test's services and isolated names, nothing passed in code."""
    monkeypatch.chdir(tmp_path)
    for name, value in {"KAFKA_HOST": services.host, "KAFKA_PORT": str(services.kafka_port),
                        "KAFKA_TOPIC_PREFIX": names["topic_prefix"], "MONGO_HOST": services.mongo_uri,
                        "DB_NAME": names["db_name"], "REDIS_HOST": services.host,
                        "REDIS_PORT": str(services.redis_port), "KAFKA_REPLICATION_FACTOR": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SKALDS_BACKEND", raising=False)


@pytest.fixture
def cluster(services: Endpoints, names: dict[str, str]) -> Iterator[Cluster]:
    """Direct access to the test's isolated topics, database and keys."""
    cluster = Cluster(services, names)
    try:
        yield cluster
    finally:
        cluster.close()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
