"""What a node derives from its `SkaldConfig`, once: its role in its mode and its workers' settings.

Every other setting is read from the config itself, where it is defined and documented.
"""

from __future__ import annotations

from dataclasses import dataclass

from skalds.config._enum import SkaldModeEnum
from skalds.config.skald_config import SkaldConfig
from skalds.worker.runtime import LaunchSettings


@dataclass(frozen=True)
class NodeRole:
    """How the mode changes the node: single_process records nothing and registers nowhere, and
    only a node keeps standby workers (an edge starts its few tasks once) and fences itself (an
    edge's tasks are never moved, so nothing can run twice when it freezes)."""

    mode: str
    record_in_store: bool
    register_node: bool
    standby_workers: int
    fences: bool

    @classmethod
    def of(cls, config: SkaldConfig) -> NodeRole:
        mode = SkaldModeEnum(config.skald_mode).value
        alone = mode == SkaldModeEnum.SINGLE_PROCESS.value
        standby = config.standby_workers if mode == SkaldModeEnum.NODE.value else 0
        node = mode == SkaldModeEnum.NODE.value
        return cls(mode=mode, record_in_store=not alone, register_node=not alone, standby_workers=standby,
                   fences=node)


def launch_settings(config: SkaldConfig) -> LaunchSettings:
    """What every worker process of this node is told (pickled with each worker: kept small). A
    node's workers fence themselves when it falls silent; every worker when its pipe closes."""
    fence = config.fence_seconds if NodeRole.of(config).fences else 0.0
    return LaunchSettings(skald_id=config.skald_id, log_level=config.log_level, log_path=config.log_path,
                          log_split=config.log_split_with_worker_id, log_rotation_mb=config.log_rotation_mb,
                          log_retention=config.log_retention, log_json=config.log_json, supervised=True,
                          fence_seconds=fence, checkpoint_max_bytes=config.checkpoint_max_bytes)
