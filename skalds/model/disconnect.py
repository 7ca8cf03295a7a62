"""A task's disconnect policy as stored (`disconnect: {lostAfterSeconds, replace}`), read defensively.

The controller's monitor and the node both need it from raw documents, many per second: plain reads with
fallbacks, no model validation (an unusable value is the node's default, and `problem_of` reports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_LOST_AFTER_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Disconnect:
    lost_after_seconds: float = 0.0  # 0: the controller's own timeout
    replace: bool = True


NODE_DEFAULT = Disconnect()


def problem(value: Any) -> str | None:
    """Why a stored `disconnect` value cannot be used, or None (a missing one is fine)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"lostAfterSeconds", "replace"}:
        return "disconnect is not an object of lostAfterSeconds and replace"
    seconds = value.get("lostAfterSeconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_LOST_AFTER_SECONDS:
        return f"disconnect.lostAfterSeconds is not a number of seconds from 0 to {MAX_LOST_AFTER_SECONDS}"
    if not isinstance(value.get("replace", True), bool):
        return "disconnect.replace is not true or false"
    return None


def of(document: dict[str, Any] | None, default: Disconnect = NODE_DEFAULT) -> Disconnect:
    """The task's own policy, else `default` (its node's); a field it leaves out is the default's."""
    value = (document or {}).get("disconnect")
    if value is None or problem(value) is not None:
        return default
    return Disconnect(float(value.get("lostAfterSeconds", default.lost_after_seconds)),
                      bool(value.get("replace", default.replace)))
