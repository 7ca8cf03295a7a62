"""A node that restarts takes back the tasks it ran before (their old processes died with it)."""

from __future__ import annotations

from skalds.node.commands import CommandHandler
from skalds.tasks import lifecycle, queries
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger


def recover_own_tasks(store: TaskStore, skald_id: str, handler: CommandHandler) -> int:
    """Claim and restart every task the store still shows running here; returns how many started."""
    started = 0
    for document in queries.running_on(store, skald_id):
        claimed = lifecycle.claim(store, document["id"], executor=skald_id,
                                  attempt=int(document.get("attempt") or 0)).document
        if claimed is not None:
            logger.info(f"recovering task {document['id']} that ran here before a restart")
            started += handler.start_document(claimed, int(claimed.get("attempt") or 0))
    return started
