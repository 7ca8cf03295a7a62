"""An event's headers (trace context: `traceparent`, `tracestate`) as they enter from the bus: bounded.

A header is optional metadata: one that is too long, not text, or past the count is dropped, never
the event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MAX_HEADERS = 8
MAX_NAME_CHARS = 64
MAX_VALUE_CHARS = 512


def bounded(pairs: Iterable[tuple[Any, Any]] | None) -> dict[str, str] | None:
    """Text headers within the bounds (bytes decoded as UTF-8); None when none is left."""
    kept: dict[str, str] = {}
    for name, value in pairs or ():
        if len(kept) >= MAX_HEADERS:
            break
        if isinstance(value, bytes | bytearray):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                continue
        if isinstance(name, str) and isinstance(value, str) and 0 < len(name) <= MAX_NAME_CHARS \
                and len(value) <= MAX_VALUE_CHARS:
            kept[name] = value
    return kept or None


def to_json(headers: Mapping[str, str] | None) -> str | None:
    """The embedded events table's `headers` column."""
    kept = bounded(headers.items()) if headers else None
    return json.dumps(kept) if kept else None


def from_json(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return bounded(loaded.items()) if isinstance(loaded, dict) else None
