"""/api/events: Server-Sent Events pushed on change from the controller's event hub.

Messages are unnamed, as in 0.3.8 (`EventSource.onmessage` receives them; the kind is the
envelope's `type`), with an `id:` (resume with `Last-Event-ID`) and 0.3.8's JSON envelope in
`data:`. A connection starts with 0.3.8's `connection` message and snapshot (`event_snapshot`);
a comment every 15 s keeps proxies from closing idle connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from skalds.system_controller.api import event_snapshot
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read
from skalds.system_controller.hub import envelope, render

router = APIRouter(prefix="/api/events", tags=["events"], dependencies=[Depends(require_read)], responses=READ)
Context = Annotated[ApiContext, Depends(get_context)]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
SNAPSHOTS = {"skalds": event_snapshot.skald_messages, "tasks": event_snapshot.task_messages}


def _start(last_event_id: str | None, context: ApiContext) -> int:
    """Resume after `last_event_id`; an id this process never issued (the controller restarted) or
    garbage starts from now, so a client never waits for sequence numbers that will not come."""
    try:
        seq = int(last_event_id) if last_event_id else context.hub.last_seq
    except ValueError:
        return context.hub.last_seq
    return seq if 0 <= seq <= context.hub.last_seq else context.hub.last_seq


def _unnamed(message: dict[str, Any]) -> str:
    return f"data: {json.dumps(message)}\n\n"


async def _opening(context: ApiContext, stream: str, subject: str | None, hello: str,
                   last_seq: int, head: int) -> AsyncIterator[str]:
    """0.3.8's greeting; on a resume what was missed between `last_seq` and `head`; then the snapshot of
    now, with the id `head` (a reconnect resumes after the snapshot; newer events follow it)."""
    greeting = {"type": "connection", "message": hello, "timestamp": int(time.time() * 1000)}
    yield "retry: 2000\n" + _unnamed(greeting)
    for event in context.hub.since(last_seq, stream, subject):
        if event.seq <= head:
            yield event.render()
    snapshot = await asyncio.to_thread(SNAPSHOTS[stream], context, subject)  # may read live state
    for name, key, data in snapshot:
        yield render(head, envelope(stream, name, key, data))


async def _stream(request: Request, context: ApiContext, stream: str, subject: str | None, hello: str,
                  last_seq: int) -> AsyncIterator[str]:
    keepalive = context.config.sse_keepalive_seconds
    context.hub.clients += 1
    try:
        head = context.hub.last_seq
        async for message in _opening(context, stream, subject, hello, last_seq, head):
            yield message
        last_seq = head
        quiet_since = time.monotonic()
        while not await request.is_disconnected():
            head = context.hub.last_seq
            events = context.hub.since(last_seq, stream, subject)
            for event in events:
                yield event.render()
            last_seq = max(head, events[-1].seq if events else last_seq)
            if events:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= keepalive:
                yield f": keep-alive {int(time.time())}\n\n"
                quiet_since = time.monotonic()
            await context.hub.wait(last_seq, timeout=min(keepalive, 1.0))
    except asyncio.CancelledError:
        pass
    finally:
        context.hub.clients -= 1


def _sse(request: Request, context: ApiContext, stream: str, subject: str | None, hello: str,
         last_event_id: str | None) -> StreamingResponse:
    start = _start(last_event_id, context)
    return StreamingResponse(_stream(request, context, stream, subject, hello, start),
                             media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/skalds", responses=errors(422))
async def skald_events(request: Request, context: Context,
                       skald_id: Annotated[str | None, Query(max_length=200)] = None,
                       last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                       resume_after: Annotated[str | None, Query(alias="lastEventId", max_length=40)] = None,
                       ) -> StreamingResponse:
    """`Last-Event-ID` (sent by EventSource on its own reconnects) or `?lastEventId=` (for a new EventSource
    that resumes) replays what happened since."""
    return _sse(request, context, "skalds", skald_id, "Connected to Skalds events", last_event_id or resume_after)


@router.get("/tasks", responses=errors(422))
async def task_events(request: Request, context: Context,
                      task_id: Annotated[str | None, Query(max_length=200)] = None,
                      last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                      resume_after: Annotated[str | None, Query(alias="lastEventId", max_length=40)] = None,
                      ) -> StreamingResponse:
    """`Last-Event-ID` (sent by EventSource on its own reconnects) or `?lastEventId=` (for a new EventSource
    that resumes) replays what happened since."""
    return _sse(request, context, "tasks", task_id, "Connected to Task events", last_event_id or resume_after)


@router.get("/status")
def events_status(context: Context) -> dict[str, Any]:
    return {"connectedClients": context.hub.clients, "timestamp": int(time.time() * 1000), "status": "active",
            "lastEventId": context.hub.last_seq}


@router.get("/test")
async def test_events(request: Request) -> StreamingResponse:
    """0.3.8's connectivity check: a numbered test message every 5 seconds."""

    async def numbered() -> AsyncIterator[str]:
        count = 0
        while not await request.is_disconnected():
            count += 1
            message = {"type": "test", "message": f"Test message {count}", "timestamp": int(time.time() * 1000)}
            yield _unnamed(message)
            await asyncio.sleep(5)

    return StreamingResponse(numbered(), media_type="text/event-stream", headers=SSE_HEADERS)
