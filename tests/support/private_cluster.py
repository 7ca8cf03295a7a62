"""Controllers and nodes on a test's private services, under names of their own."""

from __future__ import annotations

import uuid
from pathlib import Path

from support.controller import ControllerFactory
from support.nodes import NodeFactory
from support.private_services import PrivateServices


def private_factories(private: PrivateServices, workdir: Path, label: str) -> tuple[ControllerFactory, NodeFactory]:
    """Factories whose topics, database and keys carry `label` and a fresh token."""
    token = uuid.uuid4().hex[:8]
    names = {"token": token, "topic_prefix": f"{label[0]}{token}.", "db_name": f"{label}_{token}",
             "redis_prefix": f"{label[0]}{token}:"}
    return ControllerFactory(private.endpoints, names, workdir), NodeFactory(private.endpoints, names, workdir)
