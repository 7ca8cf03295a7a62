"""What a task or node id may be, checked before an id reaches a log line, a key or a query.

0.3.8 let scripts choose any string; what it must not hold is a control character (a newline in an
id written to a log forges a line) or an unbounded length. The API's own ids are stricter still.
"""

from __future__ import annotations

MAX_ID_LENGTH = 1000
API_ID_PATTERN = r"^[A-Za-z0-9._:@\-]+$"  # ids the REST API accepts for new tasks


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def shown(value: object, limit: int = 80) -> str:
    """An id (or anything) safe to put in a log line: itself when valid, else its escaped repr, cut."""
    if is_valid_id(value) and len(value) <= limit:  # type: ignore[arg-type]
        return str(value)
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
