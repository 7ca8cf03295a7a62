"""Whether this process traces, read from the standard `OTEL_*` variables without importing OpenTelemetry.

Tracing is on when `OTEL_TRACES_EXPORTER` names exporters other than `none`, or when an OTLP endpoint is
set (then `otlp`); `OTEL_SDK_DISABLED=true` turns it off whatever else is set. Reading this costs a few
dictionary look-ups, so a process that is not configured never loads the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping

KNOWN_EXPORTERS = ("console", "otlp")
MAX_VARIABLE_CHARS = 256  # an exporter list longer than this is not a list of exporter names


def exporters_wanted(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The exporter names this process should use (empty: tracing is off). Unknown names are kept, so the
    caller can say that they were ignored."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    value = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()[:MAX_VARIABLE_CHARS]
    if value:
        names = tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
        return () if names == ("none",) else tuple(name for name in names if name != "none")
    if environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ("otlp",)
    return ()


def service_name(environ: Mapping[str, str], default: str) -> str:
    """`OTEL_SERVICE_NAME` when set, else this kind of process's own name (skalds-controller, -node, -worker)."""
    return environ.get("OTEL_SERVICE_NAME", "").strip()[:MAX_VARIABLE_CHARS] or default
