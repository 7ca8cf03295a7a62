"""The errors the transport ports raise: the only failures of a backing service the rest of the code sees.

Each adapter translates its driver's exceptions into these (`translate.translating`), so the node and the
controller decide "retry later", "the client's mistake" or "a bug" without knowing which driver is below.
"""

from __future__ import annotations


class TransportError(Exception):
    """Base of every error a port raises on purpose."""


class ServiceUnavailableError(TransportError):
    """A backing service did not answer in time: retry later (HTTP 503)."""

    service = "a backing service"


class StoreUnavailableError(ServiceUnavailableError):
    service = "the task store"


class LiveStateUnavailableError(ServiceUnavailableError):
    service = "live state"


class EventBusUnavailableError(ServiceUnavailableError):
    service = "the event bus"


class DuplicateTaskError(TransportError):
    """A task with this id already exists."""


class ConflictError(TransportError):
    """A compare-and-set found the task changed since it was read."""


class UnstorableError(TransportError, ValueError):
    """The store refuses this content (NUL bytes, lone surrogates, NaN, `$` keys, huge numbers...)."""


class MisconfiguredError(TransportError):
    """A transport cannot work with this configuration (bad path, unusable file): waiting cannot help."""


def service_of(error: BaseException) -> str:
    """A name for the service behind `error`, for messages a person reads."""
    return getattr(error, "service", ServiceUnavailableError.service)
