"""A worker's progress on the node: checked as it comes out of the pipe, written with the heartbeats.

The worker checked its values already, but the pipe carries whatever the worker's code sends: the
node checks again (`model.progress.sanitized`) and keeps only the JSON it writes, renewed by each
heartbeat (`Pulse`) and written once more when the worker exits, so its last report is not lost.
"""

from __future__ import annotations

from skalds.model.progress import encode, sanitized
from skalds.node.handles import WorkerHandle
from skalds.transport.ports import LiveBatch
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger
from skalds.worker.protocol import Progress


def take(handle: WorkerHandle, message: Progress) -> None:
    """Keep the report on the handle, or say once why it was refused."""
    checked = sanitized(message.fraction, message.message, message.metrics)
    at = message.at
    if checked is None or not isinstance(at, int) or isinstance(at, bool) or not 0 <= at < 2**53:
        if handle.progress is None:
            logger.warning(f"task {handle.task_id}: ignored a progress report the node cannot use")
        return
    handle.progress = encode(*checked, at=at, attempt=handle.attempt)


def fill(batch: LiveBatch, handle: WorkerHandle, ttl: float) -> None:
    if handle.progress is not None:
        batch.set(RedisKey.task_progress(handle.task_id), handle.progress, ttl)
