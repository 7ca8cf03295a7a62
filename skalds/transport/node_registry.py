"""A Skald node's registration in live state: the node's writer beside the controller's reader.

The node writes it every heartbeat period (`write_registration`) and removes it when it stops
(`write_deregistration`); the controller reads every node back in two pipelined round trips
(`NodeRegistry`). Kept in one module, like rq's `worker_registration.py`, so the keys written and
the keys read cannot drift apart. A node is online while its registration timestamp keeps
changing; changes are timed on the controller's own clock, so a node whose clock is skewed is
judged correctly (0.3.8 compared the node's clock with the controller's).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from skalds.model.disconnect import MAX_LOST_AFTER_SECONDS, NODE_DEFAULT, Disconnect
from skalds.model.task import TaskWorkerSimpleMapList
from skalds.transport.ports import LiveBatch, LiveReadBatch, LiveState
from skalds.transport.wire_names import RedisKey


# --- the node's side -------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeRegistration:
    """What a node says about itself, fixed for its lifetime."""

    skald_id: str
    mode: str
    capacity: int
    pid: int
    started_ms: int
    requests: str = ""  # how it hears users' requests: "events", "store" (it reconciles), "none"; "" unsaid


REQUEST_PATHS = frozenset({"events", "store", "none"})
PER_NODE = 12  # reads per node in `NodeRegistry.refresh`
MAX_SCHEMAS_BYTES = 1024 * 1024  # all of one node's class schemas (JSON): a larger value is read as none


def write_registration(batch: LiveBatch, node: NodeRegistration, tasks: Iterable[tuple[str, str]],
                       classes: list[str], now: int, heartbeat_ttl: float, key_ttl: int, schemas: str = "") -> None:
    """The node's registration keys: its timestamp, mode, heartbeat, tasks (id, class), classes and the JSON
    Schema of each class's attachments (`schemas`: a JSON object by class name; additive)."""
    skald_id = node.skald_id
    all_tasks = TaskWorkerSimpleMapList()
    for task_id, class_name in tasks:
        all_tasks.push(task_id, class_name)
    batch.hset(RedisKey.SKALD_LIST_HASH, skald_id, str(now))
    batch.hset(RedisKey.SKALD_MODE_LIST_HASH, skald_id, node.mode)
    batch.set(RedisKey.skald_heartbeat(skald_id), str(now // 1000 % 200), heartbeat_ttl)
    batch.set(RedisKey.skald_all_task(skald_id), all_tasks.to_json(), key_ttl)
    batch.replace_list(RedisKey.skald_allow_task_class_name(skald_id), classes, key_ttl)
    if schemas:
        batch.set(RedisKey.skald_task_class_schema(skald_id), schemas, key_ttl)
    info = RedisKey.skald_info(skald_id)
    batch.hset(info, "capacity", str(node.capacity))
    batch.hset(info, "pid", str(node.pid))
    batch.hset(info, "started", str(node.started_ms))
    if node.requests:
        batch.hset(info, "requests", node.requests)


def write_node_resources(batch: LiveBatch, skald_id: str, cpu_percent: float, rss_bytes: int, processes: int,
                         memory_total: int, memory_available: int, at_ms: int) -> None:
    """The node process and all its workers together, and the machine's memory: one JSON field of the info hash."""
    figures = {"cpuPercent": round(cpu_percent, 1), "rssBytes": rss_bytes, "processes": processes,
               "memoryTotalBytes": memory_total, "memoryAvailableBytes": memory_available, "at": at_ms}
    batch.hset(RedisKey.skald_info(skald_id), "resources", json.dumps(figures))


def write_log_drops(batch: LiveBatch, skald_id: str, dropped: int) -> None:
    """How many of its workers' log lines the node dropped since it started (rate limit, full queue)."""
    batch.hset(RedisKey.skald_info(skald_id), "logLinesDropped", str(dropped))


def write_fence(batch: LiveBatch, skald_id: str, fence_seconds: float) -> None:
    """How long the node's workers may outlive its last heartbeat (`SkaldConfig.fence_seconds`): the
    controller waits longer than that before it moves the node's tasks."""
    batch.hset(RedisKey.skald_info(skald_id), "fence", f"{fence_seconds:g}")


def write_disconnect_default(batch: LiveBatch, skald_id: str, lost_after_seconds: float, replace: bool) -> None:
    """The node's default disconnect policy, for its tasks that name none (`SkaldConfig.disconnect_*`)."""
    info = RedisKey.skald_info(skald_id)
    batch.hset(info, "lostAfter", f"{lost_after_seconds:g}")
    batch.hset(info, "replace", "1" if replace else "0")


def write_draining(batch: LiveBatch, skald_id: str) -> None:
    """The node drains itself before it exits: the controller gives it no new task meanwhile."""
    batch.hset(RedisKey.skald_info(skald_id), "draining", "1")


def write_deregistration(batch: LiveBatch, skald_id: str) -> None:
    """Remove every key `write_registration` writes: the controller sees the node gone at once."""
    batch.hdel(RedisKey.SKALD_LIST_HASH, skald_id)
    batch.hdel(RedisKey.SKALD_MODE_LIST_HASH, skald_id)
    for key in (RedisKey.skald_heartbeat(skald_id), RedisKey.skald_all_task(skald_id),
                RedisKey.skald_allow_task_class_name(skald_id), RedisKey.skald_task_class_schema(skald_id),
                RedisKey.skald_info(skald_id)):
        batch.delete(key)


# --- the controller's side -------------------------------------------------------------------
@dataclass
class NodeRecord:
    id: str
    mode: str = "node"
    last_heartbeat_ms: int = 0  # as written by the node
    seen_change_at: float = 0.0  # controller monotonic clock
    heartbeat: int = 0
    supported_tasks: list[str] = field(default_factory=list)
    current_tasks: list[dict[str, str]] = field(default_factory=list)
    capacity: int = 0
    fence_seconds: float = 0.0  # the node's fence time (0: it did not say, an older node or no fencing)
    online: bool = False
    class_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # an older node publishes none
    schemas_read: tuple[str | None, list[str]] = (None, [])  # what `class_schemas` was parsed from
    requests: str = ""  # how it hears users' requests ("events", "store", "none"); "": it did not say
    draining: bool = False  # the node drains itself (it was told to stop): no new tasks for it
    disconnect: Disconnect = NODE_DEFAULT  # its default disconnect policy (an older node says none)
    resources: dict[str, float | int] | None = None  # see `write_node_resources`; an older node publishes none
    log_lines_dropped: int = 0  # see `write_log_drops`

    def age_seconds(self, now: float | None = None) -> float:
        return max(0.0, (now or time.monotonic()) - self.seen_change_at)

    def to_dict(self) -> dict[str, Any]:
        """0.3.8's SkaldResponse fields plus capacity and heartbeat age."""
        return {
            "id": self.id,
            "type": self.mode,
            "status": "online" if self.online else "offline",
            "lastHeartbeat": str(self.last_heartbeat_ms),
            "supportedTasks": self.supported_tasks,
            "currentTasks": [task["id"] for task in self.current_tasks],
            "heartbeat": self.heartbeat,
            "taskCount": len(self.current_tasks),
            "capacity": self.capacity,
            "heartbeatAgeMs": int(self.age_seconds() * 1000),
            "resources": self.resources,
        }


class NodeRegistry:
    """Reads every node in two round trips (the hashes, then one pipeline for all details)."""

    def __init__(self, live: LiveState, timeout_seconds: float) -> None:
        self.live = live
        self.timeout = timeout_seconds
        self.nodes: dict[str, NodeRecord] = {}

    def refresh(self) -> tuple[dict[str, NodeRecord], list[tuple[str, str]]]:
        """Re-read the nodes; returns them and the online/offline transitions since the last call."""
        now = time.monotonic()

        def registry(batch: LiveReadBatch) -> None:
            batch.hgetall(RedisKey.SKALD_LIST_HASH)
            batch.hgetall(RedisKey.SKALD_MODE_LIST_HASH)

        stamps, modes = self.live.read(registry)
        ids = sorted(stamps)

        def per_node(batch: LiveReadBatch) -> None:
            for skald_id in ids:
                batch.get(RedisKey.skald_heartbeat(skald_id))
                batch.get(RedisKey.skald_all_task(skald_id))
                batch.lrange(RedisKey.skald_allow_task_class_name(skald_id))
                batch.hget(RedisKey.skald_info(skald_id), "capacity")
                batch.hget(RedisKey.skald_info(skald_id), "fence")
                batch.get(RedisKey.skald_task_class_schema(skald_id))
                batch.hget(RedisKey.skald_info(skald_id), "requests")
                batch.hget(RedisKey.skald_info(skald_id), "draining")
                batch.hget(RedisKey.skald_info(skald_id), "lostAfter")
                batch.hget(RedisKey.skald_info(skald_id), "replace")
                batch.hget(RedisKey.skald_info(skald_id), "resources")
                batch.hget(RedisKey.skald_info(skald_id), "logLinesDropped")

        details = self.live.read(per_node) if ids else []
        transitions: list[tuple[str, str]] = []
        fresh: dict[str, NodeRecord] = {}
        for index, skald_id in enumerate(ids):
            record = self.nodes.get(skald_id) or NodeRecord(id=skald_id, seen_change_at=now)
            stamp = _int(stamps.get(skald_id))
            if stamp != record.last_heartbeat_ms:
                record.last_heartbeat_ms = stamp
                record.seen_change_at = now
            record.mode = modes.get(skald_id, "node")
            _fill(record, details[index * PER_NODE:index * PER_NODE + PER_NODE])
            was_online = record.online if skald_id in self.nodes else None
            record.online = record.age_seconds(now) <= self.timeout
            if was_online is None or was_online != record.online:
                transitions.append((skald_id, "online" if record.online else "offline"))
            fresh[skald_id] = record
        for skald_id, record in self.nodes.items():
            if skald_id not in fresh and record.online:
                transitions.append((skald_id, "offline"))
        self.nodes = fresh
        return fresh, transitions


def _request_path(value: Any) -> str:
    """How the node hears users' requests, if it said so in a known word (else "")."""
    return value if value in REQUEST_PATHS else ""


def _fill(record: NodeRecord, details: list[Any]) -> None:
    """A node's record from its keys, as `refresh` read them (PER_NODE values)."""
    heartbeat, all_tasks, classes, capacity, fence, schemas, requests, draining, lost_after, replace, resources, \
        log_drops = details
    record.heartbeat = _int(heartbeat)
    record.current_tasks = _tasks(all_tasks)
    record.supported_tasks = list(classes)
    record.capacity = _int(capacity)
    record.fence_seconds = _float(fence)
    if (schemas, record.supported_tasks) != record.schemas_read:  # parsed again only when they changed
        record.schemas_read = (schemas, list(record.supported_tasks))
        record.class_schemas = _schemas(schemas, record.supported_tasks)
    record.requests = _request_path(requests)
    record.draining = draining == "1"
    seconds = _float(lost_after)
    record.disconnect = Disconnect(seconds if 0 <= seconds <= MAX_LOST_AFTER_SECONDS else 0.0, replace != "0")
    record.resources = resource_figures(resources, NODE_FIGURES)
    record.log_lines_dropped = max(0, _int(log_drops))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _tasks(raw: str | None) -> list[dict[str, str]]:
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    return [{"id": task["id"], "className": task.get("class_name", "")} for task in data.get("tasks", [])
            if isinstance(task, dict) and "id" in task]


NODE_FIGURES = ("cpuPercent", "rssBytes", "processes", "memoryTotalBytes", "memoryAvailableBytes", "at")
TASK_FIGURES = ("cpuPercent", "rssBytes", "processes", "at")
MAX_FIGURES_BYTES = 1024


def resource_figures(raw: str | None, names: tuple[str, ...]) -> dict[str, float | int] | None:
    """Figures a node wrote (`write_node_resources`, a task's `task:{id}:resources`), bounded: small JSON,
    the names expected, each a finite non-negative number; anything else reads as none."""
    if not raw or len(raw) > MAX_FIGURES_BYTES:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    figures: dict[str, float | int] = {}
    for name in names:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 2**63:
            return None
        figures[name] = value
    return figures


def _schemas(raw: str | None, classes: list[str]) -> dict[str, dict[str, Any]]:
    """A node's class schemas, bounded: only objects, only for classes it registers; anything else is none."""
    if not raw or len(raw) > MAX_SCHEMAS_BYTES:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: schema for name, schema in data.items() if name in classes and isinstance(schema, dict)}
