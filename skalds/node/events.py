"""The node's event loop: consumed events go to the `CommandHandler` in order, each committed
once handled, so a node that stops or loses a service mid-way gets the same event again."""

from __future__ import annotations

import threading

from skalds.node.commands import CommandHandler
from skalds.transport.ports import Event, EventConsumer
from skalds.utils.logging import logger

POLL_SECONDS = 0.2
BATCH_LIMIT = 200  # events already waiting are taken together: their documents are read in one query


class EventLoop:
    def __init__(self, consumer: EventConsumer, handler: CommandHandler, stop: threading.Event) -> None:
        self.consumer = consumer
        self.handler = handler
        self.stop = stop

    def run(self) -> None:
        """Handle events in order, each committed once handled, until `stop` is set."""
        while not self.stop.is_set():
            try:
                events = self.poll_batch()
            except Exception as error:
                logger.error(f"event consumer failed: {error}; retrying")
                self.stop.wait(1)
                continue
            if len(events) > 1:
                self.handler.prefetch(events)
            for event in events:
                if not self.handle_until_done(event):
                    return
                self.consumer.commit(event)

    def poll_batch(self, limit: int = BATCH_LIMIT) -> list[Event]:
        event = self.consumer.poll(POLL_SECONDS)
        if event is None:
            return []
        events = [event]
        while len(events) < limit:
            following = self.consumer.poll(0)
            if following is None:
                break
            events.append(following)
        return events

    def handle_until_done(self, event: Event) -> bool:
        """An event is committed only once handled: while a service is down, retry it (in order).

        Returns False when the node stops first; the event stays uncommitted and comes again.
        """
        delay = 0.5
        while True:
            try:
                self.handler.handle(event)
                return True
            except Exception as error:
                if self.stop.is_set():
                    logger.info(f"stopping; event on {event.topic} (key {event.key}) will be delivered again")
                    return False
                logger.warning(f"event on {event.topic} (key {event.key}) waits for a service: {error}; "
                               f"retrying in {delay:.1f}s")
                self.stop.wait(delay)
                delay = min(5.0, delay * 2)
