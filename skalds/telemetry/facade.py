"""The tracing calls the rest of Skalds makes: each is a no-op costing an attribute look-up while tracing is off.

Contexts travel as W3C `traceparent` strings (what an event header, a task document and a worker's
start carry), so no caller needs OpenTelemetry's types; `provider` turns them into contexts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from skalds.telemetry import config
from skalds.utils.logging import logger

CURRENT = "current"  # `parent=CURRENT`: the span active in this thread, if any (else a new trace)


class _NoSpan:
    """What a span context manager yields while tracing is off: accepts everything, records nothing."""

    traceparent: str | None = None

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        return None

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        return None

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None) -> None:
        return None

    def is_recording(self) -> bool:
        return False

    def end(self) -> None:
        return None


NO_SPAN = _NoSpan()
OFF = contextlib.nullcontext(NO_SPAN)  # reusable: entering it does nothing
_tracing: Any = None  # a `provider.Tracing` once `setup` turned tracing on in this process


def enabled() -> bool:
    return _tracing is not None


def setup(default_service: str, *, exporter: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on for this process when configured (or with `exporter`, a SpanExporter: tests); True if on.

    `default_service` names the process when `OTEL_SERVICE_NAME` does not. Calling it again does nothing."""
    global _tracing
    if _tracing is not None:
        return True
    environ = os.environ if environ is None else environ
    names = config.exporters_wanted(environ)
    if exporter is None and not names:
        return False
    try:
        from skalds.telemetry import provider
    except ImportError as error:
        logger.warning(f"OTEL_* variables ask for traces but OpenTelemetry is not installed ({error}); "
                       "install skalds[otel] — tracing stays off")
        return False
    _tracing = provider.install(config.service_name(environ, default_service),
                                [exporter] if exporter is not None else provider.exporters(names))
    return True


def flush(timeout_seconds: float = 5.0) -> None:
    """Export every ended span now (a process about to exit, or a test that reads its exporter)."""
    if _tracing is not None:
        _tracing.flush(timeout_seconds)


def shutdown(timeout_seconds: float = 5.0) -> None:
    """Flush and stop exporting; a later `setup` may turn tracing on again (tests)."""
    global _tracing
    tracing, _tracing = _tracing, None
    if tracing is not None:
        tracing.shutdown(timeout_seconds)


def span(name: str, /, *, parent: str | None = CURRENT, links: Iterable[str] = (),
         attributes: Mapping[str, Any] | None = None, **more: Any) -> contextlib.AbstractContextManager[Any]:
    """A span that is current while the block runs. `parent`: CURRENT, a traceparent, or None (a new trace);
    `links`: traceparents. An exception leaving the block is recorded on it."""
    if _tracing is None:
        return OFF
    return _tracing.span(name, parent, links, {**(attributes or {}), **more})


def start_span(name: str, /, *, parent: str | None = CURRENT, links: Iterable[str] = (),
               attributes: Mapping[str, Any] | None = None) -> Any:
    """A span that is not made current (many open at once, as a batch's); call `.end()`. Its `.traceparent`
    names it as a parent."""
    if _tracing is None:
        return NO_SPAN
    return _tracing.start(name, parent, links, dict(attributes or {}))


def current_traceparent() -> str | None:
    """The active span as a traceparent (None while tracing is off or no span is active)."""
    return None if _tracing is None else _tracing.current_traceparent()


def current_headers() -> dict[str, str] | None:
    """The active span's W3C headers (traceparent, tracestate) for an event, or None."""
    return None if _tracing is None else _tracing.current_headers()
