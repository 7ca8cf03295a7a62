"""A task's attachments, desired apart from applied: what the user last stored, what a worker last took, and
which of the two a new attempt starts with.

`attachments`/`attachmentsVersion` (0.3.8's fields) are the desired ones: what the user stored last.
`appliedAttachments`/`appliedAttachmentsVersion` (additive) are the ones a worker last accepted, or still
holds after it rejected a later version (`rejectedAttachmentsVersion`). A rejected version never becomes
what a retry or a new attempt starts with: it starts with the applied ones until the user stores others.
"""

from __future__ import annotations

from typing import Any


def _version(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def applied(document: dict[str, Any]) -> tuple[dict[str, Any] | None, int | None]:
    """The attachments a worker last applied and their version; (None, version) when only the version is known."""
    values, version = document.get("appliedAttachments"), _version(document.get("appliedAttachmentsVersion"))
    if isinstance(values, dict) and version is not None:
        return values, version
    if version is not None and version == _version(document.get("attachmentsVersion") or 0):
        desired = document.get("attachments")
        return (desired if isinstance(desired, dict) else None), version
    return None, version


def rejected(document: dict[str, Any]) -> bool:
    """The desired attachments are the version a worker (or the node's validation) refused."""
    version = _version(document.get("attachmentsVersion") or 0)
    return bool(version) and _version(document.get("rejectedAttachmentsVersion")) == version


def start_attachments(document: dict[str, Any]) -> tuple[Any, int]:
    """What a new attempt starts with, and its version: the desired attachments, unless a worker rejected them
    and the ones it kept are known."""
    if rejected(document):
        values, version = applied(document)
        if values is not None and version is not None:
            return values, version
    return document.get("attachments"), int(document.get("attachmentsVersion") or 0)
