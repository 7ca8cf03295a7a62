"""OpenTelemetry traces for Skalds: off (and never importing OpenTelemetry) unless the standard `OTEL_*`
variables configure an exporter and the `skalds[otel]` extra is installed.

`facade` is the whole API the rest of Skalds calls; `flow` holds the task's trace (create, dispatch,
event, start, worker hooks); `provider` and `console` are loaded only once tracing is on.
"""

from skalds.telemetry.facade import (
    CURRENT,
    NO_SPAN,
    current_headers,
    current_traceparent,
    enabled,
    flush,
    setup,
    shutdown,
    span,
    start_span,
)

__all__ = ["CURRENT", "NO_SPAN", "current_headers", "current_traceparent", "enabled", "flush", "setup",
           "shutdown", "span", "start_span"]
