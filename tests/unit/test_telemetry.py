"""Traces in one process with the SDK's in-memory exporter: the facade, W3C context through event headers
and task documents, a task's spans with the right parents, and nothing at all while tracing is off."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skalds import telemetry
from skalds.telemetry import config, flow
from skalds.transport import event_headers
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer, SqliteEventPublisher

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert telemetry.setup("skalds-test", exporter=exporter, environ={})
    try:
        yield exporter
    finally:
        telemetry.shutdown()


def finished(exporter: InMemorySpanExporter) -> dict[str, object]:
    telemetry.flush()
    return {span.name: span for span in exporter.get_finished_spans()}


def test_spans_nest_carry_attributes_and_record_errors(spans):
    with pytest.raises(ValueError), telemetry.span("outer", attributes={"task.id": "t-1"}), \
            telemetry.span("inner", step=2):
        raise ValueError("boom")
    found = finished(spans)
    outer, inner = found["outer"], found["inner"]
    assert inner.parent.span_id == outer.context.span_id
    assert inner.context.trace_id == outer.context.trace_id
    assert outer.attributes["task.id"] == "t-1" and inner.attributes["step"] == 2
    assert inner.status.status_code.name == "ERROR" and [e.name for e in inner.events] == ["exception"]
    assert outer.resource.attributes["service.name"] == "skalds-test"


def test_a_traceparent_carries_a_span_across_a_boundary(spans):
    with telemetry.span("sender"):
        traceparent = telemetry.current_traceparent()
    assert flow.trace_id(traceparent) is not None
    with telemetry.span("receiver", parent=traceparent):
        pass
    with telemetry.span("fresh", parent=None):
        pass
    with telemetry.span("garbled", parent="00-zz-not-a-traceparent"):
        pass
    found = finished(spans)
    assert found["receiver"].parent.span_id == found["sender"].context.span_id
    assert found["receiver"].context.trace_id == found["sender"].context.trace_id
    assert found["fresh"].parent is None and found["garbled"].parent is None


def test_a_batch_gets_one_dispatch_span_per_task_and_the_event_links_them(spans):
    created = {}
    for task_id in ("t-a", "t-b"):
        with flow.create_span("Job", task_id):
            created[task_id] = {"id": task_id, "className": "Job", **flow.document_fields()}
    with flow.dispatching(created.values()) as dispatch:
        flow.dispatched(dispatch, [{**created["t-a"], "executor": "n-1", "attempt": 1}])
        with flow.publishing("p.task.assign", ["t-a", "t-b"]) as headers:
            pass
    assert headers is not None and set(headers) <= set(flow.HEADER_NAMES)
    for task_id in ("t-a", "t-b"):  # the node: t-a is of the event's trace, t-b of another one
        with flow.received(headers), flow.starting({**created[task_id], "executor": "n-1", "attempt": 1}):
            pass
    telemetry.flush()
    by_task: dict[str, dict[str, object]] = {}
    for span in spans.get_finished_spans():
        by_task.setdefault(span.attributes.get("task.id"), {})[span.name] = span
    a, b = by_task["t-a"], by_task["t-b"]
    for task in (a, b):
        assert task["skalds.task.dispatch"].parent.span_id == task["skalds.task.create"].context.span_id
    publish = a["skalds.event.publish"]
    assert publish.parent.span_id == a["skalds.task.dispatch"].context.span_id
    assert {link.context.span_id for link in publish.links} == {
        a["skalds.task.dispatch"].context.span_id, b["skalds.task.dispatch"].context.span_id}
    assert a["skalds.task.start"].parent.span_id == publish.context.span_id
    assert b["skalds.task.start"].parent.span_id == b["skalds.task.create"].context.span_id
    assert b["skalds.task.start"].context.trace_id == b["skalds.task.create"].context.trace_id
    assert a["skalds.task.dispatch"].attributes["skalds.applied"] is True
    assert b["skalds.task.dispatch"].attributes["skalds.applied"] is False
    assert a["skalds.task.start"].attributes["skald.id"] == "n-1"


def test_an_event_outside_any_trace_publishes_without_headers(spans):
    with flow.publishing("p.task.cancel", ["t-x"]) as headers:
        pass
    assert headers is None and finished(spans) == {}


def test_off_every_hook_is_a_shared_no_op():
    assert not telemetry.enabled()
    assert telemetry.span("x") is telemetry.span("y")
    with telemetry.span("x", a=1) as span, flow.dispatching([{"id": "t"}]) as dispatch, \
            flow.publishing("t", ["t"]) as headers:
        span.set_attribute("k", "v")
    assert span is telemetry.NO_SPAN and dispatch is None and headers is None
    assert telemetry.current_traceparent() is None and flow.document_fields() == {}


@pytest.mark.parametrize(("environ", "wanted"), [
    ({}, ()), ({"OTEL_TRACES_EXPORTER": "none"}, ()), ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
    ({"OTEL_TRACES_EXPORTER": "console, otlp"}, ("console", "otlp")),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ("otlp",)),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4318/v1/traces"}, ("otlp",)),
    ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, ()),
])
def test_tracing_is_on_only_when_the_standard_variables_say_so(environ, wanted):
    assert config.exporters_wanted(environ) == wanted


@pytest.mark.parametrize(("modules", "prefix"), [
    # a node and its workers: not one OpenTelemetry module
    ("skalds.skald, skalds.worker.runtime, skalds.node.commands, skalds.system_controller.task_service",
     "opentelemetry"),
    # the controller: FastAPI imports OpenTelemetry's API by itself when it is installed; Skalds loads no SDK
    ("skalds.system_controller.main", "opentelemetry.sdk"),
])
def test_off_no_process_imports_opentelemetry(modules, prefix):
    code = (f"import sys, {modules}\n"
            "from skalds import telemetry\n"
            "assert not telemetry.setup('skalds-node')\n"
            f"print(sorted(name for name in sys.modules if name.startswith({prefix!r})))\n")
    environ = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_console_exporter_writes_one_json_line_per_span():
    code = ("from skalds import telemetry\n"
            "assert telemetry.setup('skalds-node')\n"
            "with telemetry.span('a', attributes={'task.id': 't-1'}):\n"
            "    with telemetry.span('b'): pass\n"
            "telemetry.shutdown()\n")
    environ = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": "/tmp", "OTEL_TRACES_EXPORTER": "console",
               "OTEL_SERVICE_NAME": "mine", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test"}
    result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [line["name"] for line in lines] == ["b", "a"]
    assert lines[0]["parentSpanId"] == lines[1]["spanId"] and lines[0]["traceId"] == lines[1]["traceId"]
    assert {line["service"] for line in lines} == {"mine"} and lines[1]["attributes"] == {"task.id": "t-1"}


def test_embedded_events_keep_their_headers_and_old_files_gain_the_column(tmp_path):
    path = tmp_path / "old.db"
    import sqlite3

    old = sqlite3.connect(path)  # the events table as an earlier Skalds made it
    old.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT, "
                "value BLOB, ts REAL NOT NULL)")
    old.commit()
    old.close()
    consumer = SqliteEventConsumer(SqliteDatabase(path), "g", ["t"])
    publisher = SqliteEventPublisher(SqliteDatabase(path))
    traceparent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    publisher.publish("t", "k1", "v", {"traceparent": traceparent, "x" * 100: "too long a name"})
    publisher.publish("t", "k2", "v")
    first, second = consumer.poll(2), consumer.poll(2)
    assert first.headers == {"traceparent": traceparent} and second.headers is None


def test_headers_entering_are_bounded():
    many = [(f"h{index}", "v") for index in range(50)]
    assert len(event_headers.bounded(many)) == event_headers.MAX_HEADERS
    assert event_headers.bounded([("traceparent", b"\xff\xfe"), ("a", "x" * 10_000)]) is None
    assert event_headers.from_json("[1, 2]") is None and event_headers.from_json("{bad") is None
