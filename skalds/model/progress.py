"""A task's progress report: what a worker may say about itself, its bounds, and its wire form.

The worker checks what it is given (`check_*`: a ValueError with a clear text), the node checks
again what comes out of the pipe (`sanitized`: worker code could put anything there), and the
controller reads the JSON its node wrote each heartbeat (`decode`: anything else is ignored).
Key `task:{id}:progress` holds `{"fraction", "message", "metrics", "at", "attempt"}`.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from typing import Any

MAX_MESSAGE = 500  # characters of a message kept (the rest is cut)
MAX_METRICS = 32  # distinct metric names per task
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # also a safe Prometheus label value
MAX_JSON = 8192  # a progress value longer than this in live state is not one a node wrote


def _real(value: object) -> bool:
    """A real number (numpy's too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite(value: object) -> float | None:
    """`value` as a finite float, or None (not a number, NaN, infinite, too large for a float)."""
    if not _real(value):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_fraction(value: object) -> float | None:
    if value is None:
        return None
    number = _finite(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise ValueError(f"progress fraction must be a number from 0 to 1 or None, not {value!r:.60}")
    return number


def check_message(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"progress message must be a string or None, not {type(value).__name__}")
    return value[:MAX_MESSAGE]


def check_metrics(values: dict[str, object], known: dict[str, float] | None = None) -> dict[str, float]:
    """`known` merged with `values`, each name safe and each value a finite number, at most MAX_METRICS names."""
    if len(values) > MAX_METRICS:
        raise ValueError(f"a task reports at most {MAX_METRICS} metrics ({len(values)} names given)")
    merged = dict(known or {})
    for name, value in values.items():
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"metric name {name!r:.70} must match {NAME_PATTERN.pattern} (letters, digits, _)")
        number = _finite(value)
        if number is None:
            raise ValueError(f"metric {name} must be a finite number, not {value!r:.60}")
        merged[name] = number
    if len(merged) > MAX_METRICS:
        raise ValueError(f"a task reports at most {MAX_METRICS} metrics ({len(merged)} names given so far)")
    return merged


def sanitized(fraction: object, message: object, metrics: object) -> tuple[float | None, str | None,
                                                                            dict[str, float]] | None:
    """The three checked, or None when any is not valid."""
    try:
        if not isinstance(metrics, dict):
            return None
        return check_fraction(fraction), check_message(message), check_metrics(metrics)
    except ValueError:
        return None


def encode(fraction: float | None, message: str | None, metrics: dict[str, float], at: int, attempt: int) -> str:
    return json.dumps({"fraction": fraction, "message": message, "metrics": metrics, "at": at, "attempt": attempt},
                      separators=(",", ":"))


def decode(raw: str | None) -> dict[str, Any] | None:
    """The sample a node wrote, checked again (live state is shared), or None."""
    try:
        value = json.loads(raw) if raw and len(raw) <= MAX_JSON else None
    except ValueError:
        value = None
    if not isinstance(value, dict) or not _real(value.get("at")) or not _real(value.get("attempt")):
        return None
    checked = sanitized(value.get("fraction"), value.get("message"), value.get("metrics"))
    if checked is None:
        return None
    fraction, message, metrics = checked
    return {"fraction": fraction, "message": message, "metrics": metrics, "at": int(value["at"]),
            "attempt": int(value["attempt"])}
