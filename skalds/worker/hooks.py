"""Lifecycle decorators. They only mark methods; the runtime finds them on the class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

HOOK_ATTRIBUTE = "__skalds_hook__"
BEFORE, MAIN, AFTER, RELEASE, UPDATE = "before", "main", "after", "release", "update"
CHECKPOINT = "checkpoint"  # asked for before a release (drain, node shutdown): save progress now


def _mark(kind: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:  # `func` is 0.3.8's keyword
        setattr(func, HOOK_ATTRIBUTE, kind)
        return func
    return decorate


run_before_handler = _mark(BEFORE)
run_main_handler = _mark(MAIN)
run_after_handler = _mark(AFTER)
release_handler = _mark(RELEASE)
update_event_handler = _mark(UPDATE)
checkpoint_handler = _mark(CHECKPOINT)


def find_hooks(cls: type) -> dict[str, str]:
    """hook kind -> method name. With several methods of one kind, the alphabetically last wins (0.3.8)."""
    found: dict[str, str] = {}
    for name in sorted(dir(cls)):
        kind = getattr(getattr(cls, name, None), HOOK_ATTRIBUTE, None)
        if kind is not None:
            found[kind] = name
    return found
