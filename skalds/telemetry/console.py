"""`OTEL_TRACES_EXPORTER=console`: each span as ONE JSON line on the process's stderr.

One line per span (the SDK's own console exporter prints indented JSON over many lines) so that a
span survives being a log line: a worker's stderr is its task log, read line by line by its node.
The stream is looked up at each export, so a worker whose stderr was redirected writes to the new one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

SPAN_MARK = "skalds.span"  # the value of "otel" in every line: how a reader tells span lines from others


def _hex(number: int, width: int) -> str:
    return format(number, f"0{width}x")


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "otel": SPAN_MARK,
        "name": span.name,
        "traceId": _hex(context.trace_id, 32),
        "spanId": _hex(context.span_id, 16),
        "parentSpanId": _hex(span.parent.span_id, 16) if span.parent is not None else None,
        "service": span.resource.attributes.get("service.name"),
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "links": [{"traceId": _hex(link.context.trace_id, 32), "spanId": _hex(link.context.span_id, 16)}
                  for link in span.links],
        "events": [event.name for event in span.events],
    }


class JsonLineSpanExporter(SpanExporter):
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(json.dumps(span_record(span), separators=(",", ":"), default=str) + "\n" for span in spans)
        stream = self._stream or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed stream at exit: the spans are lost, the process is not
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
