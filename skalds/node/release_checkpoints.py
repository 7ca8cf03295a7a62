"""Before a release (a drain, the node's shutdown) each worker may save where it is: the node asks it to run
its @checkpoint_handler, then waits, at most until a deadline, for the answer and for the saves to be written,
so the next attempt elsewhere starts from there. A paused worker cannot answer and is not asked."""

from __future__ import annotations

import time
from collections.abc import Callable

from skalds.node.checkpoint_writer import CheckpointWriter
from skalds.node.handles import HandleTable, WorkerHandle
from skalds.utils.logging import logger
from skalds.worker.protocol import CheckpointRequest, ToWorker


def checkpoint_before_release(handles: HandleTable, send: Callable[[WorkerHandle, ToWorker], bool],
                              writer: CheckpointWriter | None, task_ids: list[str], reason: str,
                              timeout: float) -> None:
    deadline = time.monotonic() + max(0.0, timeout)
    asked = []
    with handles.lock:
        for handle in (handles.get(task_id) for task_id in task_ids):
            if handle is not None and handle.stop_reason is None and not handle.paused:
                handle.checkpoint_answered.clear()
                if send(handle, CheckpointRequest(reason)):
                    asked.append(handle)
    for handle in asked:
        if not handle.checkpoint_answered.wait(max(0.0, deadline - time.monotonic())):
            logger.warning(f"task {handle.task_id}: no checkpoint within {timeout:g}s; releasing it anyway")
    if asked and writer is not None and not writer.wait_written([handle.task_id for handle in asked], deadline):
        logger.warning(f"checkpoints of {len(asked)} task(s) not all written within {timeout:g}s")
