"""One trace per task: API create -> dispatch -> assign event -> node start -> worker hooks.

The create span's traceparent is stored on the task document (`traceparent`, which 0.3.8 ignores), so
each task of a dispatcher batch gets its own dispatch span under it; the batch's event carries the
publish span in its headers and links every dispatch span. A node starts a task under the event's
context when the event belongs to the task's trace, else under the document's. Every function here
returns at once while tracing is off.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from skalds.telemetry import facade

TRACEPARENT = "traceparent"  # the task document's field and the event header's name
HEADER_NAMES = ("traceparent", "tracestate")
_VALID = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_dispatched: ContextVar[dict[str, str] | None] = ContextVar("skalds_dispatched", default=None)
_received: ContextVar[str | None] = ContextVar("skalds_received", default=None)
_OFF_NONE = contextlib.nullcontext(None)


def trace_id(traceparent: Any) -> str | None:
    """The trace id of a well-formed traceparent, else None (a document or header may hold anything)."""
    match = _VALID.match(traceparent) if isinstance(traceparent, str) and len(traceparent) == 55 else None
    return match.group(1) if match else None


def task_attributes(document: Mapping[str, Any]) -> dict[str, Any]:
    attributes = {"task.id": document.get("id"), "task.class": document.get("className"),
                  "task.attempt": document.get("attempt"), "skald.id": document.get("executor")}
    return {key: value for key, value in attributes.items() if isinstance(value, str | int)}


def create_span(class_name: str, task_id: str | None) -> contextlib.AbstractContextManager[Any]:
    """The API's create: current while the task is stored, so `document_fields` finds it."""
    return facade.span("skalds.task.create", attributes=task_attributes({"id": task_id, "className": class_name}))


def document_fields() -> dict[str, str]:
    """What a new task document stores of the current trace: {"traceparent": ...}, or nothing."""
    traceparent = facade.current_traceparent()
    return {TRACEPARENT: traceparent} if traceparent else {}


@contextlib.contextmanager
def _dispatching(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    spans = {document["id"]: facade.start_span("skalds.task.dispatch", parent=_stored(document),
                                               attributes=task_attributes(document)) for document in documents}
    token = _dispatched.set({task_id: span.traceparent for task_id, span in spans.items() if span.traceparent})
    try:
        yield spans
    finally:
        _dispatched.reset(token)
        for span in spans.values():
            span.end()


def dispatching(documents: Iterable[dict[str, Any]]) -> contextlib.AbstractContextManager[dict[str, Any] | None]:
    """A dispatch span per task of a batch (each under its document's trace), open until the block ends;
    events published in the block link them. Yields the spans for `dispatched` (None while off)."""
    if not facade.enabled():
        return _OFF_NONE
    return _dispatching(list(documents))


def dispatched(spans: dict[str, Any] | None, applied: Iterable[Mapping[str, Any]]) -> None:
    """Say on each dispatch span whether its assignment was applied, and to which node and attempt."""
    if spans is None:
        return
    applied_ids = set()
    for document in applied:
        applied_ids.add(document["id"])
        if document["id"] in spans:
            spans[document["id"]].set_attributes({**task_attributes(document), "skalds.applied": True})
    for task_id, span in spans.items():
        if task_id not in applied_ids:
            span.set_attribute("skalds.applied", False)  # changed by someone since it was read


@contextlib.contextmanager
def _publishing(topic: str, task_ids: list[str]) -> Iterator[dict[str, str] | None]:
    dispatched = _dispatched.get() or {}
    parent = dispatched.get(task_ids[0]) if task_ids else None
    if parent is None and facade.current_traceparent() is None:
        yield None  # an event outside any trace (a cancel, an update) starts none
        return
    links = [dispatched[task_id] for task_id in task_ids if task_id in dispatched]
    with facade.span("skalds.event.publish", parent=parent or facade.CURRENT, links=links,
                     attributes={"messaging.destination.name": topic, "messaging.batch.message_count": 1,
                                 "skalds.task_count": len(task_ids), "task.id": task_ids[0] if task_ids else ""}):
        yield facade.current_headers() or None


def publishing(topic: str, task_ids: list[str]) -> contextlib.AbstractContextManager[dict[str, str] | None]:
    """The publish span of one event; yields the headers that carry it (None: publish without headers)."""
    if not facade.enabled():
        return _OFF_NONE
    return _publishing(topic, task_ids)


@contextlib.contextmanager
def _receiving(headers: Mapping[str, str] | None) -> Iterator[None]:
    traceparent = (headers or {}).get(TRACEPARENT)
    token = _received.set(traceparent if trace_id(traceparent) else None)
    try:
        yield
    finally:
        _received.reset(token)


def received(headers: Mapping[str, str] | None) -> contextlib.AbstractContextManager[None]:
    """While a node handles an event: its header context, for the starts it causes."""
    if not facade.enabled():
        return _OFF_NONE
    return _receiving(headers)


def _stored(document: Mapping[str, Any]) -> str | None:
    traceparent = document.get(TRACEPARENT)
    return traceparent if trace_id(traceparent) else None


def starting(document: Mapping[str, Any]) -> contextlib.AbstractContextManager[Any]:
    """The node's start of a task: under the event's context when it is of the task's trace (or the
    document names none), else under the document's; current while the worker is handed over."""
    if not facade.enabled():
        return facade.OFF
    header, stored = _received.get(), _stored(document)
    parent = header if header and (stored is None or trace_id(header) == trace_id(stored)) else stored
    return facade.span("skalds.task.start", parent=parent, attributes=task_attributes(document))


def hook_span(kind: str, traceparent: str | None,
              attributes: Mapping[str, Any]) -> contextlib.AbstractContextManager[Any]:
    """A worker hook (`skalds.worker.initialize`, `.before`, `.main`, `.after`, `.release`) under the start."""
    if not facade.enabled():
        return facade.OFF
    return facade.span(f"skalds.worker.{kind}", parent=traceparent if trace_id(traceparent) else None,
                       attributes=attributes)
