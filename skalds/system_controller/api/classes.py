"""/api/classes: the worker classes registered nodes run and their attachments schemas; and the check of
attachments against those schemas where they enter (`POST /api/tasks`, `PUT /api/tasks/{id}/attachments`).

A refusal is a 422 in FastAPI's own shape (`detail`: items with `loc`, `msg`, `type`), so the dashboard
and the CLI show it as they show any field error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.exceptions import RequestValidationError

from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.models import ClassSchemaResponse
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy.attachment_schema import check

router = APIRouter(prefix="/api/classes", tags=["classes"], dependencies=[Depends(require_read)], responses=READ)
Context = Annotated[ApiContext, Depends(get_context)]


def _schemas(class_name: str, runners: list[NodeRecord]) -> dict[str, dict[str, Any]]:
    return {node.id: node.class_schemas[class_name] for node in runners if class_name in node.class_schemas}


def refuse_unknown_class(context: ApiContext, class_name: str) -> list[NodeRecord]:
    """The nodes that run `class_name`; 422 when none has registered it."""
    runners = context.catalog.runners(class_name)
    if not runners:
        raise RequestValidationError([{
            "loc": ("body", "className"), "type": "unknown_class",
            "msg": f"no node has registered class {class_name[:200]!r} (send waitForClass: true to let the task "
                   "wait for a node that runs it)"}])
    return runners


def check_attachments(class_name: str, attachments: dict[str, Any], runners: list[NodeRecord]) -> None:
    """422 listing each field error when `attachments` do not fit a schema those nodes published."""
    schemas = _schemas(class_name, runners)
    issues = check(attachments, schemas)
    if not issues:
        return
    several = len({json.dumps(schema, sort_keys=True) for schema in schemas.values()}) > 1
    details = []
    for issue in issues:
        detail = issue.detail()
        if several:  # say whose schema it is when the nodes disagree
            detail["msg"] += f" (schema of node {', '.join(issue.nodes[:5])})"
        details.append(detail)
    raise RequestValidationError(details)


@router.get("", response_model=list[ClassSchemaResponse])
def list_classes(context: Context) -> list[ClassSchemaResponse]:
    """Every class registered nodes run, with its attachments schema."""
    return [_describe(name, context) for name in sorted(context.catalog.known())]


@router.get("/{class_name}", response_model=ClassSchemaResponse, responses=errors(404, 422))
def get_class(class_name: str, context: Context) -> ClassSchemaResponse:
    """One class and its attachments schema; 404 when no registered node runs it."""
    if not context.catalog.runners(class_name):
        raise HTTPException(404, f"no node has registered class {class_name[:200]!r}")
    return _describe(class_name, context)


def _describe(class_name: str, context: ApiContext) -> ClassSchemaResponse:
    runners = sorted(context.catalog.runners(class_name, fresh_on_miss=False), key=lambda node: node.id)
    schemas = _schemas(class_name, runners)
    distinct = {json.dumps(schema, sort_keys=True): schema for schema in schemas.values()}
    first = next(iter(distinct.values()), None)
    return ClassSchemaResponse(className=class_name, nodes=[node.id for node in runners],
                               attachmentsSchema=first, variants=len(distinct))
