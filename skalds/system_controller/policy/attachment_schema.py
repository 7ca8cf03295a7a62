"""Do a task's attachments fit the JSON Schemas its class's nodes published? A pure check with a bounded answer.

Nodes publish, with their registration, the JSON Schema of each class's attachments model (pydantic's
`model_json_schema`). Nodes that run the same class may publish different schemas (a rolling upgrade):
the attachments must fit every one of them, since the dispatcher may give the task to any of those
nodes, and each issue names the nodes whose schema it comes from. Nodes that publish no schema (older
ones) add no check. A schema that is not a valid JSON Schema is skipped, never trusted to refuse.

The check is JSON Schema's, so it is stricter than pydantic's lax mode: `"5"` for an integer field is
refused here although a worker's model would coerce it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

MAX_ISSUES = 20  # per schema: a clear list, not every item of a large array
MAX_MESSAGE = 300


@dataclass(frozen=True)
class Issue:
    """One field error: where in the attachments, what is wrong, and whose schema says so."""

    path: tuple[str | int, ...]
    message: str
    nodes: tuple[str, ...]

    def detail(self, prefix: tuple[str, ...] = ("body", "attachments")) -> dict[str, Any]:
        """As an item of the API's 422 `detail` list (FastAPI's shape, plus the nodes)."""
        return {"loc": [*prefix, *self.path], "msg": self.message, "type": "attachments_schema",
                "nodes": list(self.nodes)}


@lru_cache(maxsize=128)
def _validator(schema_text: str) -> Draft202012Validator | None:
    try:
        schema = json.loads(schema_text)
        Draft202012Validator.check_schema(schema)
    except (ValueError, SchemaError):
        return None
    return Draft202012Validator(schema)


def _where(error: ValidationError) -> tuple[str | int, ...]:
    """The error's path; a missing property's error names the property, not the object that lacks it."""
    path = tuple(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in error.validator_value:
            if name not in error.instance and error.message.startswith(repr(name)):
                return (*path, name)
    return path


def check(attachments: Any, schemas: Mapping[str, dict[str, Any]]) -> list[Issue]:
    """The issues of `attachments` against each node's schema (`schemas`: node id -> schema); [] when they fit."""
    variants: dict[str, list[str]] = {}
    for node_id, schema in sorted(schemas.items()):
        variants.setdefault(json.dumps(schema, sort_keys=True), []).append(node_id)
    found: dict[tuple[tuple[str | int, ...], str], list[str]] = {}
    for text, nodes in variants.items():
        validator = _validator(text)
        if validator is None:
            continue
        for error in islice(validator.iter_errors(attachments), MAX_ISSUES):
            message = error.message if len(error.message) <= MAX_MESSAGE else error.message[:MAX_MESSAGE - 3] + "..."
            found.setdefault((_where(error), message), []).extend(nodes)
    issues = [Issue(path, message, tuple(nodes)) for (path, message), nodes in found.items()]
    return sorted(issues, key=lambda issue: ([str(part) for part in issue.path], issue.message))[:MAX_ISSUES]
