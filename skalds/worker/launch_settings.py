"""What the supervisor tells a worker process about its environment (read by the runtime in the worker)."""

from __future__ import annotations

from dataclasses import dataclass

from skalds.worker.checkpoints import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class LaunchSettings:
    """What the supervisor tells a worker process about its environment."""

    skald_id: str = "-"
    log_level: str = "INFO"
    log_path: str = "logs"
    log_split: bool = False
    log_rotation_mb: int = 10
    log_retention: str = "3 days"
    log_json: bool = False
    supervised: bool = False
    fence_seconds: float = 0.0  # stop when the supervisor is silent this long (0: only when its pipe closes)
    checkpoint_max_bytes: int = DEFAULT_MAX_BYTES  # a larger `save_checkpoint` raises in the worker

    @classmethod
    def standalone(cls) -> LaunchSettings:
        """For a worker started by hand: the logging settings from the environment, read in the
        worker's own process (imported here, so the node's fork server never loads the config)."""
        from skalds.config._base import LoggingConfig

        config = LoggingConfig()
        return cls(log_level=config.log_level, log_path=config.log_path, log_split=config.log_split_with_worker_id,
                   log_rotation_mb=config.log_rotation_mb, log_retention=config.log_retention,
                   log_json=config.log_json)
