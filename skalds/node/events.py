"""The node's event loop: consumed events go to the `CommandHandler` in order, each committed
once handled, so a node that stops or loses a service mid-way gets the same event again.

Between polls the same thread runs what the node does on its own (the next attempt's start once the
old copy exited, the reconciler), so no two threads start or stop the same task.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from skalds.model.ids import shown
from skalds.node.commands import CommandHandler
from skalds.node.dead_letter import DeadLetters
from skalds.transport.ports import Event, EventConsumer, ServiceUnavailableError
from skalds.utils.logging import logger

POLL_SECONDS = 0.2
BATCH_LIMIT = 200  # events already waiting are taken together: their documents are read in one query


class EventLoop:
    def __init__(self, consumer: EventConsumer, handler: CommandHandler, stop: threading.Event, *,
                 max_attempts: int = 5, dead_letters: DeadLetters | None = None,
                 between: Callable[[], None] | None = None, after_outage: Callable[[], None] | None = None) -> None:
        self.consumer = consumer
        self.handler = handler
        self.stop = stop
        self.max_attempts = max(1, max_attempts)
        self.dead_letters = dead_letters
        self.between = between  # run between polls (the reconciler)
        self.after_outage = after_outage  # run once an event that waited for a service was handled

    def run(self) -> None:
        """Handle events in order, each committed once handled, until `stop` is set."""
        while not self.stop.is_set():
            self.between_polls()
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

    def between_polls(self) -> None:
        self.handler.run_pending()
        if self.between is not None:
            try:
                self.between()
            except Exception as error:  # never ends the loop
                logger.exception(f"between polls: {error}")

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
        """An event is committed only once handled: while a service is down, retry it (in order) without
        end; failing for another reason, `max_attempts` times, then it goes to the dead-letter topic.

        Returns False when the node stops first; the event stays uncommitted and comes again.
        """
        delay, failures, waited = 0.5, 0, False
        while True:
            try:
                self.handler.handle(event)
                if waited and self.after_outage is not None:
                    self.after_outage()
                return True
            except Exception as error:
                if self.stop.is_set():
                    logger.info(f"stopping; event on {event.topic} (key {shown(event.key)}) will be delivered again")
                    return False
                if isinstance(error, ServiceUnavailableError):
                    waited = True
                    logger.warning(f"event on {event.topic} (key {shown(event.key)}) waits for a service: {error}; "
                                   f"retrying in {delay:.1f}s")
                else:
                    failures += 1
                    if self._give_up(event, error, failures):
                        return True
                    delay = min(delay, 0.2 * failures)
                self.stop.wait(delay)
                delay = min(5.0, delay * 2)

    def _give_up(self, event: Event, error: Exception, failures: int) -> bool:
        """After `max_attempts` failures the event is dead-lettered (and then committed by the caller)."""
        reason = f"{type(error).__name__}: {error}"
        if failures < self.max_attempts:
            logger.opt(exception=error if failures == 1 else None).warning(
                f"event on {event.topic} (key {shown(event.key)}) could not be handled "
                f"(try {failures} of {self.max_attempts}): {shown(reason, 300)}")
            return False
        if self.dead_letters is not None:
            self.dead_letters.send(event, reason, failures)
        else:
            logger.error(f"event on {event.topic} (key {shown(event.key)}) failed {failures} times; dropped")
        return True
