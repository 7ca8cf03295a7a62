"""CPU and memory of each worker's process tree and of the node, measured with psutil.

`cpu_percent` compares a process's CPU time with the previous call on the same `psutil.Process`
object, so the objects are kept between samples (by pid, with the process's create time so a
reused pid is not mistaken for the old process). A tree's children are looked up again at most
every `children_every` seconds: listing them walks /proc, reading a known process's figures does
not. A process that ended between two samples is dropped without raising.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

CHILDREN_EVERY_SECONDS = 3.0


@dataclass(frozen=True)
class Usage:
    """What a set of processes uses: CPU % of one core (100 = one core busy), resident bytes, how many."""

    cpu_percent: float = 0.0
    rss_bytes: int = 0
    processes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu_percent + other.cpu_percent, self.rss_bytes + other.rss_bytes,
                     self.processes + other.processes)

    def to_wire(self, at_ms: int) -> dict[str, Any]:
        """The `task:{id}:resources` JSON (camelCase, as the API serves it)."""
        return {"cpuPercent": round(self.cpu_percent, 1), "rssBytes": self.rss_bytes,
                "processes": self.processes, "at": at_ms}


@dataclass
class _Tree:
    root: psutil.Process
    children: dict[int, psutil.Process] = field(default_factory=dict)
    children_at: float = float("-inf")
    pids: list[int] = field(default_factory=list)  # every pid of the tree at the last sample, root first


def _measure(process: psutil.Process) -> Usage | None:
    """One process's figures; None when it is gone (or cannot be read any more)."""
    try:
        with process.oneshot():
            return Usage(process.cpu_percent(None), process.memory_info().rss, 1)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _process(pid: int) -> psutil.Process | None:
    try:
        process = psutil.Process(pid)
        process.cpu_percent(None)  # the first call only sets the reference point
        return process
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class ResourceSampler:
    """Samples process trees by a key (a task id); not thread-safe: one thread calls it."""

    def __init__(self, children_every: float = CHILDREN_EVERY_SECONDS) -> None:
        self.children_every = children_every
        self._trees: dict[str, _Tree] = {}
        self._node = _process(os.getpid())

    def sample(self, roots: dict[str, int]) -> dict[str, Usage]:
        """The usage of each tree, by key; `roots` maps a key to its root pid. Trees not named are forgotten."""
        for key in set(self._trees) - set(roots):
            del self._trees[key]
        now = time.monotonic()
        usage: dict[str, Usage] = {}
        for key, pid in roots.items():
            tree = self._tree(key, pid)
            if tree is not None:
                usage[key] = self._sample_tree(tree, now)
        return usage

    def pids(self, key: str) -> list[int]:
        """The tree's pids at its last sample, root first (for killing all of it)."""
        tree = self._trees.get(key)
        return list(tree.pids) if tree is not None else []

    def kill(self, key: str) -> int:
        """SIGKILL every process of the tree (children first: none is left to its own devices);
        psutil refuses a pid that was reused meanwhile. Returns how many were signalled."""
        tree = self._trees.get(key)
        if tree is None:
            return 0
        self._refresh_children(tree)  # the newest children too
        killed = 0
        for process in [*tree.children.values(), tree.root]:
            try:
                process.kill()
                killed += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return killed

    def node_usage(self) -> Usage:
        """The node process alone (its own threads; workers are summed by the caller)."""
        measured = _measure(self._node) if self._node is not None else None
        return measured or Usage()

    def _tree(self, key: str, pid: int) -> _Tree | None:
        tree = self._trees.get(key)
        if tree is not None and tree.root.pid == pid and tree.root.is_running():  # is_running: not a reused pid
            return tree
        root = _process(pid)
        if root is None:
            self._trees.pop(key, None)
            return None
        self._trees[key] = tree = _Tree(root=root)
        return tree

    def _sample_tree(self, tree: _Tree, now: float) -> Usage:
        if now - tree.children_at >= self.children_every:
            self._refresh_children(tree)
            tree.children_at = now
        total, pids = Usage(), []
        for process in [tree.root, *tree.children.values()]:
            measured = _measure(process)
            if measured is None:
                tree.children.pop(process.pid, None)
                continue
            total, pids = total + measured, [*pids, process.pid]
        tree.pids = pids
        return total

    def _refresh_children(self, tree: _Tree) -> None:
        try:
            found = tree.root.children(recursive=True)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            tree.children.clear()
            return
        kept = {pid: process for pid, process in tree.children.items() if any(pid == f.pid for f in found)}
        for child in found:
            if child.pid not in kept:
                fresh = _process(child.pid)
                if fresh is not None:
                    kept[child.pid] = fresh
        tree.children = kept


def machine_memory() -> tuple[int, int]:
    """The machine's total and available memory, in bytes."""
    memory = psutil.virtual_memory()
    return int(memory.total), int(memory.available)
