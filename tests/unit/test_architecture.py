"""The layering of design §3, checked from the source: who may import whom, no cycles, no giant modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2] / "skalds"
DRIVERS = ("pymongo", "bson", "redis", "confluent_kafka")
DRIVER_HOMES = ("skalds.transport", "skalds.proxy")  # adapters, and 0.3.8's public wrappers of the drivers
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 50
# (importer prefix, forbidden prefixes): dependencies point downwards.
FORBIDDEN = [
    ("skalds.model", ("skalds.",), ("skalds.model",)),
    ("skalds.config", ("skalds.",), ("skalds.config",)),
    ("skalds.transport", ("skalds.worker", "skalds.node", "skalds.system_controller", "skalds.tasks",
                          "skalds.skald", "skalds.cli"), ()),
    ("skalds.tasks", ("skalds.worker", "skalds.node", "skalds.system_controller", "skalds.skald", "skalds.cli"), ()),
    ("skalds.worker", ("skalds.node", "skalds.system_controller", "skalds.skald", "skalds.cli"), ()),
    ("skalds.node", ("skalds.system_controller", "skalds.cli"), ()),
    ("skalds.system_controller", ("skalds.node", "skalds.worker", "skalds.skald", "skalds.cli"), ()),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, tree: ast.Module) -> Iterator[str]:
    """Every module this one imports, anywhere in it (lazy and TYPE_CHECKING imports included)."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:  # `from skalds.tasks import lifecycle` imports a module
                if f"{base}.{alias.name}" in _modules():
                    yield f"{base}.{alias.name}"


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def _ours(imported: str) -> str | None:
    """The module of ours an import names (a symbol's module when it names a symbol)."""
    while imported and imported not in _modules():
        imported = imported.rpartition(".")[0]
    return imported or None


def test_no_driver_is_imported_outside_the_adapters() -> None:
    offenders = sorted(f"{name} imports {imported}" for name, tree in _modules().items()
                       if not name.startswith(DRIVER_HOMES) for imported in _imports(name, tree)
                       if imported.split(".")[0] in DRIVERS)
    assert offenders == []


def test_dependencies_point_downwards() -> None:
    offenders = []
    for name, tree in _modules().items():
        for importer, forbidden, allowed in FORBIDDEN:
            if not (name == importer or name.startswith(importer + ".")):
                continue
            for imported in _imports(name, tree):
                if imported.startswith(forbidden) and not imported.startswith(allowed):
                    offenders.append(f"{name} imports {imported}")
    assert sorted(set(offenders)) == []


def test_no_import_cycles() -> None:
    graph = {name: {target for imported in _imports(name, tree) if (target := _ours(imported)) and target != name}
             for name, tree in _modules().items()}
    # A package's __init__ importing its own submodules is how packages re-export; it is not a cycle.
    graph = {name: {t for t in targets if not t.startswith(name + ".")} for name, targets in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target] if target in path else [node, target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert [" -> ".join(cycle) for cycle in cycles] == []


def test_modules_and_functions_stay_short() -> None:
    long_modules = sorted(f"{name}: {count} lines" for name in _modules()
                          if (count := _line_count(name)) > MAX_MODULE_LINES)
    long_functions = sorted(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
                            for name, tree in _modules().items() for node in ast.walk(tree)
                            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                            and node.end_lineno is not None and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES)
    assert (long_modules, long_functions) == ([], [])


def _line_count(name: str) -> int:
    path = PACKAGE.parent / name.replace(".", "/")
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return len(path.read_text().splitlines())
