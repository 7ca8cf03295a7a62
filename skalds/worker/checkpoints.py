"""A worker's checkpoint, checked in the worker: a JSON object, at most `max_bytes` once encoded.

The checks run in the worker's own process, so a state that cannot be stored raises there, in the
code that tried to save it, instead of failing later on the node where nobody sees it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB: the state travels in one pipe message and one store document


def encode_checkpoint(state: Any, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The state as compact JSON text; ValueError says why it cannot be saved."""
    if isinstance(state, BaseModel):
        state = state.model_dump(mode="json", by_alias=True)
    if not isinstance(state, dict):
        raise ValueError(f"save_checkpoint takes a dict or a pydantic model, not {type(state).__name__}")
    try:
        text = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"checkpoint state is not JSON-serialisable: {error}") from error
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise ValueError(f"checkpoint state is {size} bytes encoded as JSON, over the limit of {max_bytes} bytes "
                         "(raise checkpoint_max_bytes on the node, or save less)")
    return text


def decode_checkpoint(text: str | None) -> dict[str, Any] | None:
    """The stored JSON text back as a dict (None when there is none or it is not an object)."""
    if not text:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None

