"""Events a node could not handle after `event_max_attempts` tries, for a reason other than an outage:
committed (later events flow) and published to the dead-letter topic, where an operator can look."""

from __future__ import annotations

import json
import socket
from typing import Any

from skalds.model._time import now_ms
from skalds.model.ids import shown
from skalds.transport.ports import Event, EventPublisher
from skalds.utils.logging import logger

MAX_VALUE_CHARS = 10_000  # the original value is kept as text, cut to this


def dead_letter_payload(event: Event, reason: str, skald_id: str, attempts: int) -> dict[str, Any]:
    """What the dead-letter topic holds for one event: where it came from, what it was, why it failed."""
    value = (event.value or b"").decode("utf-8", errors="replace")
    return {
        "topic": event.topic, "key": event.key, "value": value[:MAX_VALUE_CHARS],
        "valueTruncated": len(value) > MAX_VALUE_CHARS, "reason": reason[:2000], "attempts": attempts,
        "skaldId": skald_id, "host": socket.gethostname(), "ts": now_ms(),
    }


class DeadLetters:
    """Publishes to `<prefix>skalds.dead-letter`; a failure to publish is logged, never raised."""

    def __init__(self, publisher: EventPublisher | None, topic: str, skald_id: str) -> None:
        self.publisher = publisher
        self.topic = topic
        self.skald_id = skald_id

    def send(self, event: Event, reason: str, attempts: int) -> None:
        payload = dead_letter_payload(event, reason, self.skald_id, attempts)
        logger.error(f"event on {shown(event.topic)} (key {shown(event.key)}) failed {attempts} times "
                     f"({shown(reason, 300)}); committed and sent to {self.topic}")
        if self.publisher is None:
            return
        try:
            self.publisher.publish(self.topic, event.key or "", json.dumps(payload))
            self.publisher.flush(5.0)
        except Exception as error:
            logger.error(f"dead letter of event on {shown(event.topic)} could not be published: {error}")
