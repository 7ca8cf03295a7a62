"""Mongo-style task filters, sorts and projections translated to SQL over a JSON column.

The subset the runtime and the controller use, with MongoDB's meaning:
- `{"field": value}` equality; None matches a missing field; a list/tuple/set means "one of";
  0 (not False) also matches a missing field, as in `mongo_changes.condition`;
- operators `$in $nin $eq $ne $gt $gte $lt $lte $exists $regex` (+ `$options: "i"`);
  comparisons match only values of the operand's kind (numbers with numbers, text with text).
Anything else is refused with a ValueError naming it, rather than silently matching wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_SCALARS = (str, int, float, bool, type(None))
_COMPARE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def json_path(field: str) -> str:
    if not isinstance(field, str) or not _FIELD.match(field):
        raise ValueError(f"unsupported task field name {field!r} (letters, digits, '_' and '.' only)")
    return "$." + field


def column(field: str) -> str:
    """The SQL expression of a field; identical text to the expression indexes, so they are used."""
    if field == "id":
        return "id"
    return f"json_extract(doc, '{json_path(field)}')"


def _scalar(value: Any, where: str) -> Any:
    if not isinstance(value, _SCALARS):
        raise ValueError(f"unsupported value {value!r} in {where}: only text, numbers, booleans and None")
    return value


def _one_of(expr: str, values: Iterable[Any], field: str) -> tuple[str, list[Any]]:
    values = [_scalar(value, f"the list for {field!r}") for value in values]
    present = [value for value in values if value is not None]
    parts: list[str] = []
    if present:
        parts.append(f"{expr} IN ({','.join('?' * len(present))})")
    if len(present) < len(values):
        parts.append(f"{expr} IS NULL")
    if not parts:
        return "0", []
    return "(" + " OR ".join(parts) + ")", present


def _operator(field: str, expr: str, name: str, operand: Any, options: str) -> tuple[str, list[Any]]:
    if name in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple, set, frozenset)):
            raise ValueError(f"{name} for {field!r} needs a list, got {operand!r}")
        sql, params = _one_of(expr, operand, field)
        return (sql, params) if name == "$in" else (f"NOT {sql}", params)
    if name == "$eq":
        return _equal(field, expr, operand)
    if name == "$ne":
        sql, params = _equal(field, expr, operand)
        return f"NOT {sql}", params
    if name in _COMPARE:
        if isinstance(operand, bool) or not isinstance(operand, (int, float, str)):
            raise ValueError(f"{name} for {field!r} needs a number or text, got {operand!r}")
        kinds = "('text')" if isinstance(operand, str) else "('integer','real')"
        return f"(typeof({expr}) IN {kinds} AND {expr} {_COMPARE[name]} ?)", [operand]
    if name == "$exists":
        if field == "id":
            return ("1" if operand else "0"), []
        return f"json_type(doc, '{json_path(field)}') IS {'NOT ' if operand else ''}NULL", []
    if name == "$regex":
        if not isinstance(operand, str):
            raise ValueError(f"$regex for {field!r} needs a pattern string, got {operand!r}")
        try:
            re.compile(operand)
        except re.error as error:
            raise ValueError(f"invalid $regex for {field!r}: {error}") from error
        return f"regexp(?, ?, {expr})", [operand, options]
    raise ValueError(f"unsupported filter operator {name!r} for {field!r}")


def _equal(field: str, expr: str, value: Any) -> tuple[str, list[Any]]:
    _scalar(value, f"the filter on {field!r}")
    if value is None:
        return f"({expr} IS NULL)", []
    return f"({expr} IS NOT NULL AND {expr} = ?)", [value]


def condition(field: str, value: Any) -> tuple[str, list[Any]]:
    """SQL for one `where` entry (same meaning as `mongo_changes.condition` plus the operators)."""
    if field.startswith("$"):
        raise ValueError(f"unsupported top-level filter operator {field!r}")
    expr = column(field)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _one_of(expr, value, field)
    if isinstance(value, dict):
        if not value or not all(isinstance(key, str) and key.startswith("$") for key in value):
            raise ValueError(f"filter on {field!r}: a dict must hold operators ($gt, $in, ...), got {value!r}")
        options = value.get("$options", "")
        if not isinstance(options, str) or set(options) - {"i"}:
            raise ValueError(f"unsupported $options {options!r} for {field!r} (only 'i')")
        parts, params = [], []
        for name, operand in value.items():
            if name == "$options":
                continue
            sql, more = _operator(field, expr, name, operand, options)
            parts.append(sql)
            params += more
        if not parts:
            raise ValueError(f"filter on {field!r}: $options without $regex")
        return "(" + " AND ".join(parts) + ")", params
    if value == 0 and not isinstance(value, bool):
        return f"({expr} = 0 OR {expr} IS NULL)", []
    return _equal(field, expr, value)


def where_clause(where: dict[str, Any] | None) -> tuple[str, list[Any]]:
    if where is not None and not isinstance(where, dict):
        raise ValueError(f"a task filter is a dict, got {type(where).__name__}")
    parts, params = [], []
    for field, value in (where or {}).items():
        sql, more = condition(field, value)
        parts.append(sql)
        params += more
    return (" AND ".join(parts) or "1"), params


def order_clause(sort: Sequence[tuple[str, int]]) -> str:
    """Missing values first when ascending, as MongoDB; ties in insertion order (none after the unique `id`)."""
    terms = []
    for field, direction in sort:
        if direction not in (1, -1):
            raise ValueError(f"sort direction for {field!r} must be 1 or -1, got {direction!r}")
        terms.append(f"{column(field)} {'ASC' if direction == 1 else 'DESC'}")
    if not any(field == "id" for field, _direction in sort):
        terms.append("rowid ASC")
    return ", ".join(terms)


def index_columns(keys: Sequence[tuple[str, int]]) -> str:
    """The columns of an index on `keys`: the expressions `column` writes, so queries match them."""
    return ", ".join(f"{column(field)}{' DESC' if direction < 0 else ''}" for field, direction in keys)


def projection(fields: Iterable[str]) -> tuple[list[str], str]:
    """Fields to return and the SQL selecting (value, JSON type) for each of them."""
    names = list(dict.fromkeys(fields))
    selects = []
    for name in names:
        path = json_path(name)
        selects += [f"json_extract(doc, '{path}')", f"json_type(doc, '{path}')"]
    return names, ", ".join(selects) or "1"


def project_row(names: list[str], row: Sequence[Any]) -> dict[str, Any]:
    """A projected document: missing fields left out, nested fields nested, as MongoDB returns them."""
    document: dict[str, Any] = {}
    for index, name in enumerate(names):
        value, kind = row[2 * index], row[2 * index + 1]
        if kind is None:
            continue
        if kind in ("object", "array"):
            value = json.loads(value)
        elif kind in ("true", "false"):
            value = kind == "true"
        target = document
        *parents, leaf = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return document
