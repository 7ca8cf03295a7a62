"""A node's class schemas (up to 1 MB) go to live state every 30 s, not with every heartbeat; a Redis that
restarted empty has them again at the next refresh. Real embedded live state, a real pulse and recorder."""

from __future__ import annotations

from pathlib import Path

import pytest

from skalds.config.skald_config import SkaldConfig
from skalds.node.handles import HandleTable
from skalds.node.pulse import Pulse
from skalds.node.recorder import Recorder
from skalds.node.settings import NodeRole
from skalds.transport import factory
from skalds.transport.wire_names import RedisKey
from skalds.worker.registry import WorkerRegistry
from support.workers import SleepWorker

pytestmark = pytest.mark.unit


def test_schemas_are_written_again_only_when_due(tmp_path: Path) -> None:
    config = SkaldConfig(skalds_backend="embedded", skalds_embedded_path=str(tmp_path / "skalds.db"),
                         skald_id="pulse-node")
    live = factory.build_live(config)
    registry = WorkerRegistry()
    registry.register(SleepWorker)
    clock = [1000.0]
    pulse = Pulse(config, NodeRole.of(config), HandleTable(), registry,
                  Recorder(config, None, live, record_in_store=False, on_lost=lambda *_: None),
                  clock=lambda: clock[0])
    key = RedisKey.skald_task_class_schema("pulse-node")

    pulse.write_heartbeats()
    assert "SleepWorker" in (live.get(key) or "")
    # as after a Redis restart: the registration is written again at once, the schemas later
    pulse.recorder.live(lambda batch: batch.delete(key))
    clock[0] += 29.0
    pulse.write_heartbeats()
    assert live.get(key) is None and live.get(RedisKey.skald_heartbeat("pulse-node")) is not None
    clock[0] += 1.0
    pulse.write_heartbeats()
    assert "SleepWorker" in (live.get(key) or "")
