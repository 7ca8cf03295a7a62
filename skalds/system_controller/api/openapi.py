"""The OpenAPI document as FastAPI generates it, plus what it cannot know by itself.

- The components the attachments' schema refers to (a recursive JSON value).
- On a controller without tokens, the bearer token is optional: `security` gains the empty
  requirement `{}`, so the document says what the controller does (it answers without a token).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from skalds.system_controller.api.models import ATTACHMENT_SCHEMAS

METHODS = ("get", "put", "post", "delete", "patch")


def install_openapi(app: FastAPI, tokens_required: bool) -> None:
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            _complete(generate(), tokens_required)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def _complete(document: dict[str, Any], tokens_required: bool) -> None:
    document.setdefault("components", {}).setdefault("schemas", {}).update(ATTACHMENT_SCHEMAS)
    if tokens_required:
        return
    for path in document.get("paths", {}).values():
        for method in METHODS:
            operation = path.get(method)
            if operation and operation.get("security"):
                operation["security"] = [*operation["security"], {}]
