"""In-process fan-out of live changes to Server-Sent Events clients.

The monitor publishes each change once; every SSE connection reads the same ring buffer,
so a thousand dashboards cost no extra store queries. Sequence numbers are the SSE `id:`
values, which lets a reconnecting client resume with `Last-Event-ID`.

Messages are unnamed (no `event:` line), as 0.3.8 sent them: the kind is the envelope's `type`,
so `EventSource.onmessage` (0.3.8's dashboard, and ours) receives every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HubEvent:
    seq: int
    stream: str  # "tasks" or "skalds"
    name: str  # 0.3.8's `type`, inside the envelope
    subject: str  # task id or skald id
    payload: dict[str, Any]  # the envelope's `data`; its publisher no longer touches it
    timestamp: int  # ms, when it was published

    @functools.cached_property
    def data(self) -> str:
        """The JSON envelope, made when a client first reads it: a monitor publishing thousands of heartbeats a
        second to no open dashboard encodes none of them."""
        return envelope(self.stream, self.name, self.subject, self.payload, self.timestamp)

    def render(self) -> str:
        return render(self.seq, self.data)


def envelope(stream: str, name: str, subject: str, data: dict[str, Any], timestamp: int | None = None) -> str:
    """0.3.8's SkaldEvent / TaskEvent: `{type, skaldId|taskId, data, timestamp}` as one JSON line."""
    key = "taskId" if stream == "tasks" else "skaldId"
    at = int(time.time() * 1000) if timestamp is None else timestamp
    return json.dumps({"type": name, key: subject, "data": data, "timestamp": at}, default=str)


def render(seq: int, data: str) -> str:
    """An unnamed SSE message with our `id:` (EventSource resumes after it)."""
    return f"id: {seq}\ndata: {data}\n\n"


class EventHub:
    def __init__(self, capacity: int = 10000) -> None:
        self._buffer: deque[HubEvent] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.clients = 0

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, stream: str, name: str, subject: str, data: dict[str, Any]) -> None:
        at = int(time.time() * 1000)
        with self._lock:
            self._seq += 1
            self._buffer.append(HubEvent(self._seq, stream, name, subject, data, at))
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that client's loop is closed
                loop.call_soon_threadsafe(event.set)

    def since(self, seq: int, stream: str, subject: str | None = None) -> list[HubEvent]:
        """Events after `seq`, oldest first. Read from the newest end: each wake-up of each client costs the events
        it has not seen, not the whole buffer (10,000 at a time when thousands of tasks beat every second)."""
        newer = []
        with self._lock:
            for event in reversed(self._buffer):
                if event.seq <= seq:
                    break
                newer.append(event)
        newer.reverse()
        return [event for event in newer if event.stream == stream and (subject is None or event.subject == subject)]

    async def wait(self, seq: int, timeout: float) -> None:
        """Return when something newer than `seq` was published, or after `timeout`."""
        if self._seq > seq:
            return
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.add(waiter)
        try:
            if self._seq > seq:
                return
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)
