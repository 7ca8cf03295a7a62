"""The OpenTelemetry SDK set up for one process (imported only when tracing is on).

One TracerProvider with a BatchSpanProcessor per exporter, made the global provider too, so worker
code may use `opentelemetry.trace` directly. Spans are built from traceparent strings with the W3C
propagator; a malformed traceparent (from an event header or a document) starts a new trace instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from skalds.telemetry.config import KNOWN_EXPORTERS
from skalds.utils.logging import logger

CURRENT = "current"  # the facade's sentinel (kept equal, not imported: the facade must not import this module)
_PROPAGATOR = TraceContextTextMapPropagator()
_global_set = False


def exporters(names: Iterable[str]) -> list[SpanExporter]:
    """The exporters `OTEL_TRACES_EXPORTER` names: console (one JSON line per span on stderr) and otlp."""
    built: list[SpanExporter] = []
    for name in names:
        if name == "console":
            from skalds.telemetry.console import JsonLineSpanExporter

            built.append(JsonLineSpanExporter())
        elif name == "otlp":
            built.append(_otlp_exporter())
        else:
            logger.warning(f"OTEL_TRACES_EXPORTER names {name!r}, which Skalds does not know "
                           f"({', '.join(KNOWN_EXPORTERS)}); ignored")
    return built


def _otlp_exporter() -> SpanExporter:
    """OTLP over HTTP (the extra's), or gRPC when `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL=grpc` and it is installed;
    the endpoint, headers and timeout come from the standard variables, read by the exporter itself."""
    import os

    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip().lower()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def install(service: str, span_exporters: list[SpanExporter]) -> Tracing:
    global _global_set
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    for exporter in span_exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if not _global_set:  # the SDK refuses a second global provider: later ones (tests) are only ours
        trace.set_tracer_provider(provider)
        _global_set = True
    return Tracing(provider)


def _context(parent: str | None) -> Any:
    """The context a new span's parent comes from: the current one, a traceparent's, or none (a new trace)."""
    if parent == CURRENT:
        return None
    if not parent:
        return otel_context.Context()
    return _PROPAGATOR.extract({"traceparent": parent})


def _links(traceparents: Iterable[str]) -> list[trace.Link]:
    links = []
    for traceparent in traceparents:
        span_context = trace.get_current_span(_PROPAGATOR.extract({"traceparent": traceparent})).get_span_context()
        if span_context.is_valid:
            links.append(trace.Link(span_context))
    return links


def _traceparent_of(span: trace.Span) -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
    return carrier.get("traceparent")


class Tracing:
    """The process's provider and tracer, used through the facade."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("skalds")

    @contextlib.contextmanager
    def span(self, name: str, parent: str | None, links: Iterable[str],
             attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
        with self.tracer.start_as_current_span(name, context=_context(parent), links=_links(links),
                                               attributes=dict(attributes)) as span:
            yield _Named(span)

    def start(self, name: str, parent: str | None, links: Iterable[str], attributes: Mapping[str, Any]) -> _Named:
        return _Named(self.tracer.start_span(name, context=_context(parent), links=_links(links),
                                             attributes=dict(attributes)))

    def current_traceparent(self) -> str | None:
        return self.current_headers().get("traceparent")

    def current_headers(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return carrier

    def flush(self, timeout_seconds: float) -> None:
        self.provider.force_flush(int(timeout_seconds * 1000))

    def shutdown(self, timeout_seconds: float) -> None:
        self.flush(timeout_seconds)
        self.provider.shutdown()


class _Named:
    """A span that also says its own traceparent (the facade's callers store and pass it on)."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self.traceparent = _traceparent_of(span)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._span, name)
