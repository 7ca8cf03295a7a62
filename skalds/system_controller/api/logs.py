"""/api/tasks/{id}/logs: a task's log lines (all attempts, filtered), and a live follow over SSE.

Lines come from the task-log port (a capped Redis stream per task, or the embedded table), oldest
first. Without `after` a read gives the last `limit` matching lines; with it, the first `limit`
after that id (`nextAfter` pages on). The stream sends the last `limit` lines, then each new one as
an unnamed message whose `id:` is the line's id, so a reconnect (`Last-Event-ID`) resumes after it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from skalds.model.log_levels import LEVEL_NAMES, known_level, severity
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read
from skalds.system_controller.task_service import TaskActionError
from skalds.transport.ports import LogLine, LogQuery, LogRead

router = APIRouter(prefix="/api/tasks", tags=["logs"], dependencies=[Depends(require_read)], responses=READ)
Context = Annotated[ApiContext, Depends(get_context)]
LINE_ID = r"^\d{1,19}(-\d{1,19})?$"
POLL_SECONDS = 0.1
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


class EventStream(StreamingResponse):
    """Server-Sent Events (so the OpenAPI document says text/event-stream, not JSON)."""

    media_type = "text/event-stream"


class LogLineModel(BaseModel):
    id: str
    taskId: str
    attempt: int
    level: str
    ts: int  # ms since the epoch
    source: str  # "logger", "stdout" (stdout and stderr) or "skalds" (the node's markers)
    text: str


class LogPage(BaseModel):
    taskId: str
    lines: list[LogLineModel]
    total: int
    nextAfter: str | None  # the newest line id the read looked at: `after=` for the next page (or to follow)


Attempt = Annotated[int | None, Query(ge=0, le=2**31, description="only this attempt")]
LEVEL_PATTERN = "^(" + "|".join(name for level in (*LEVEL_NAMES, "WARN") for name in (level, level.lower())) + ")$"
Level = Annotated[str | None, Query(pattern=LEVEL_PATTERN, description="this level and above: debug, info, warning...")]
Since = Annotated[int | None, Query(ge=0, le=2**53, description="lines written at or after this ms timestamp")]
Text = Annotated[str | None, Query(max_length=200, description="lines containing this text (any case)")]


def _model(line: LogLine) -> LogLineModel:
    return LogLineModel(id=line.id, taskId=line.task_id, attempt=line.attempt, level=line.level, ts=line.ts,
                        source=line.source, text=line.text)


def _query(attempt: int | None, level: str | None, since: int | None, q: str | None, after: str | None,
           limit: int) -> LogQuery:
    minimum = 0
    if level:
        name = known_level(level)
        if name is None:
            raise RequestValidationError([{"loc": ("query", "level"), "type": "value_error",
                                           "msg": "level must be one of trace, debug, info, success, warning, "
                                                  "error, critical"}])
        minimum = severity(name)
    return LogQuery(attempt=attempt, min_severity=minimum, since=since, text=q or None, after=after, limit=limit)


def _known_task(context: ApiContext, task_id: str) -> None:
    try:
        context.service.get(task_id)
    except TaskActionError as error:
        raise HTTPException(error.status_code, error.message) from error


def _read(context: ApiContext, task_id: str, query: LogQuery) -> LogRead:
    return context.logs.read(task_id, query) if context.logs is not None else LogRead([], None)


@router.get("/{task_id}/logs", response_model=LogPage, responses=errors(404, 422))
def task_logs(task_id: str, context: Context, attempt: Attempt = None, level: Level = None, since: Since = None,
              q: Text = None, after: Annotated[str | None, Query(pattern=LINE_ID, max_length=40)] = None,
              limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> LogPage:
    """The task's log lines, oldest first, of every attempt unless `attempt` is given."""
    query = _query(attempt, level, since, q, after, limit)
    _known_task(context, task_id)
    read = _read(context, task_id, query)
    return LogPage(taskId=task_id, lines=[_model(line) for line in read.lines], total=len(read.lines),
                   nextAfter=read.scanned or after)


def _message(line: LogLine) -> str:
    return f"id: {line.id}\ndata: {json.dumps(_model(line).model_dump())}\n\n"


async def _follow(request: Request, context: ApiContext, task_id: str, query: LogQuery) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        read = await asyncio.to_thread(_read, context, task_id, query)
        for line in read.lines:
            yield _message(line)
        # on after the newest line looked at, so lines the filter left out are not read again (an empty log:
        # from its start)
        after = read.scanned or query.after or "0"
        query = LogQuery(query.attempt, query.min_severity, query.since, query.text, after, 1000)
        if read.lines:
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since >= context.config.sse_keepalive_seconds:
            yield f": keep-alive {int(time.time())}\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)


@router.get("/{task_id}/logs/stream", response_class=EventStream, responses=errors(404, 422))
async def task_log_stream(request: Request, task_id: str, context: Context, attempt: Attempt = None,
                          level: Level = None, since: Since = None, q: Text = None,
                          limit: Annotated[int, Query(ge=1, le=5000, description="lines sent first")] = 200,
                          last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                          resume_after: Annotated[str | None, Query(alias="lastEventId", max_length=40)] = None,
                          ) -> EventStream:
    """Server-Sent Events: the last `limit` matching lines, then every new one. `Last-Event-ID` (or
    `?lastEventId=`) resumes after that line instead; an id of another shape starts with the last lines."""
    resume = last_event_id or resume_after
    after = resume if resume and len(resume) <= 40 and re.match(LINE_ID, resume) else None
    query = _query(attempt, level, since, q, after, limit)
    await asyncio.to_thread(_known_task, context, task_id)
    return EventStream(_follow(request, context, task_id, query), headers=SSE_HEADERS)
