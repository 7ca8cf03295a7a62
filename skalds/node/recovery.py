"""A node that restarts takes back the tasks it ran before, once their old copies are gone: each
fenced itself when its pipe closed, or at the latest `fence_seconds` after the last keep-alive of
the node's previous run (see `fencing`), so a recovered task never runs beside its old copy."""

from __future__ import annotations

import threading
import time

from skalds.node.commands import CommandHandler
from skalds.node.fencing import old_copies_gone_in
from skalds.tasks import lifecycle, queries
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger


def recover_own_tasks(store: TaskStore, skald_id: str, handler: CommandHandler, fence_seconds: float = 0.0,
                      started_at: float | None = None, stop: threading.Event | None = None) -> int:
    """Claim and restart every task the store still shows running here; returns how many started.

    With `fence_seconds`, first waits until the old copies must have fenced themselves (counted from
    `started_at`, when this run of the node began: the previous one had ended by then)."""
    documents = list(queries.running_on(store, skald_id))
    if documents and fence_seconds > 0:
        wait = old_copies_gone_in(fence_seconds, time.monotonic() if started_at is None else started_at,
                                  time.monotonic())
        if wait > 0:
            logger.info(f"{len(documents)} task(s) ran here before a restart; recovering them in {wait:.1f}s, "
                        "once their old copies must have fenced themselves")
            (stop or threading.Event()).wait(wait)
    started = 0
    for document in documents:
        claimed = lifecycle.claim(store, document["id"], executor=skald_id,
                                  attempt=int(document.get("attempt") or 0)).document
        if claimed is not None:
            logger.info(f"recovering task {document['id']} that ran here before a restart")
            started += handler.start_document(claimed, int(claimed.get("attempt") or 0))
    return started
