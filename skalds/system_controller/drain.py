"""The drain reconciler (leader only): empties the nodes an operator asked to drain, a few tasks at a time.

Level-triggered like the rest of the controller: the drain is a stored wish (`drain_desk`), and each step
compares it with the live view of the tasks its node holds. A task is moved by asking its node to release it
(`task.release`, which stops the worker as a release and gives the task back); the dispatcher then assigns it to
another node (drained and cordoned nodes are skipped). A new leader resumes a stored drain where it stands; an
uncordon deletes the wish and nothing more is moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from skalds.model.event import TaskEvent
from skalds.system_controller.drain_desk import DRAINING, DrainDesk
from skalds.system_controller.policy.drain_plan import Sent, held_by, plan
from skalds.transport.ports import EventPublisher, ServiceUnavailableError
from skalds.transport.wire_names import KafkaTopic
from skalds.utils.logging import logger


class DrainReconciler:
    def __init__(self, desk: DrainDesk, active_tasks: Callable[[], dict[str, dict[str, Any]]],
                 publisher: EventPublisher | None, topic_prefix: str = "", default_parallelism: int = 2) -> None:
        self.desk = desk
        self.active_tasks = active_tasks
        self.publisher = publisher
        self.topic = topic_prefix + KafkaTopic.TASK_RELEASE
        self.default_parallelism = default_parallelism
        self.sent: dict[str, dict[str, Sent]] = {}  # node id -> task id -> the release asked last

    def step(self, leader: bool) -> None:
        """One comparison of every stored drain with the tasks its node holds."""
        if not leader:
            self.sent.clear()  # a leader again later asks afresh: what it sent before may be long gone
            return
        drains = {node_id: document for node_id, document in self.desk.states().items()
                  if document.get("state") == DRAINING}
        for gone in set(self.sent) - set(drains):
            del self.sent[gone]  # uncordoned (or done): nothing more moves
        if not drains:
            return
        active = self.active_tasks()
        for node_id, document in drains.items():
            self._drain(node_id, document, active)
        if self.publisher is not None:
            try:
                self.publisher.flush(2.0)
            except ServiceUnavailableError as error:
                logger.warning(f"release events not acknowledged yet ({error}); they are sent again")

    def _drain(self, node_id: str, document: dict[str, Any], active: dict[str, dict[str, Any]]) -> None:
        held = held_by(node_id, active)
        sent = self.sent.setdefault(node_id, {})
        for task_id in set(sent) - set(held):
            del sent[task_id]  # released (or ended): it no longer holds this node
        now = time.monotonic()
        past = time.time() * 1000 >= int(document.get("deadlineAt") or 0)
        step = plan(held, sent, parallelism=int(document.get("parallelism") or self.default_parallelism),
                    past_deadline=past, now=now)
        if step.done:
            logger.info(f"node {node_id} is drained")
            self.desk.mark_drained(node_id, document)
            self.sent.pop(node_id, None)
            return
        for task_id, attempt in step.release:
            self._ask(node_id, task_id, attempt, forced=False)
            sent[task_id] = Sent(attempt, now)
        for task_id, attempt in step.force:
            self._ask(node_id, task_id, attempt, forced=True)
            sent[task_id] = Sent(attempt, now, forced=True)
        if step.force:
            logger.warning(f"drain of {node_id}: deadline passed, {len(step.force)} task(s) stopped at once")

    def _ask(self, node_id: str, task_id: str, attempt: int, *, forced: bool) -> None:
        if self.publisher is None:
            return
        event = TaskEvent(id=task_id, task_ids=[task_id], attempt=attempt, recipient=node_id,
                          title=KafkaTopic.RELEASE_NOW if forced else KafkaTopic.RELEASE, initiator="SystemController")
        try:
            self.publisher.publish(self.topic, task_id, event.model_dump_json(by_alias=True))
            logger.info(f"drain of {node_id}: asked it to release task {task_id} (attempt {attempt})"
                        + (" at once" if forced else ""))
        except ServiceUnavailableError as error:
            logger.warning(f"drain of {node_id}: release of {task_id} not sent ({error}); sent again later")
