"""Kafka topic and Redis key names shared with 0.3.8 (wire format).

Kept apart from the client adapters so that worker processes, which only need the names,
never load the Kafka, MongoDB or Redis client libraries (a smaller fork server forks faster).
"""

from __future__ import annotations


class KafkaTopic:
    TASK_ASSIGN = "task.assign"
    TASK_CANCEL = "task.cancel"
    TASK_UPDATE_ATTACHMENT = "task.update.attachment"
    TASK_WORKER_UPDATE = "taskworker.update"
    TESTING = "testing"
    TESTING_PRODUCER = TESTING  # 0.3.8's name
    TASK_PAUSE = "task.pause"  # additive: suspend a running task (SIGSTOP), no CPU used
    TASK_RESUME = "task.resume"  # additive: continue a paused task (SIGCONT)
    DEAD_LETTER = "skalds.dead-letter"  # additive: events a node could not handle after its tries (JSON)
    TASK_CHANGES = "skalds.task.changes"  # additive: every stored history entry, as a wake-up (tasks/change_feed)
    TASK_RELEASE = "task.release"  # additive: a drain asks a node to give a task back (stopped as a release)
    RELEASE = "release"  # a task.release event's `title`: the worker checkpoints first
    RELEASE_NOW = "release-now"  # its `title` past the drain's deadline: the worker is stopped at once

    @staticmethod
    def task_notify_process_update(task_id: str) -> str:
        return f"task.{task_id}.update"


class RedisKey:
    """Key names shared with 0.3.8's controller and dashboards."""

    SKALD_LIST_HASH = "skalds:hash"
    SKALD_MODE_LIST_HASH = "skalds:mode:hash"
    LIVE_EPOCH = "skalds:live-epoch"  # additive: written by controllers; missing = live state came back empty
    FEED_GAP = "skalds:feed-gap"  # additive: ms time a writer last failed to publish a change (controllers re-read)
    NODE_WISHES = "skalds:node-wishes"  # additive: ms time an operator's cordon/drain/uncordon was last stored

    @staticmethod
    def skald_heartbeat(skald_id: str) -> str:
        return f"skalds:{skald_id}:heartbeat"

    @staticmethod
    def skald_all_task(skald_id: str) -> str:
        return f"skalds:{skald_id}:all-task"

    @staticmethod
    def skald_allow_task_class_name(skald_id: str) -> str:
        return f"skalds:{skald_id}:allow-task-class-name"

    @staticmethod
    def skald_task_class_schema(skald_id: str) -> str:
        """Additive: the JSON Schema of each class's attachments model, one JSON object by class name (string)."""
        return f"skalds:{skald_id}:task-class-schema"

    @staticmethod
    def skald_info(skald_id: str) -> str:
        """Additive: capacity, pid, host, version, started (hash)."""
        return f"skalds:{skald_id}:info"

    @staticmethod
    def task_heartbeat(task_id: str) -> str:
        return f"task:{task_id}:heartbeat"

    @staticmethod
    def task_exception(task_id: str) -> str:
        return f"task:{task_id}:exception"

    @staticmethod
    def task_has_error(task_id: str) -> str:
        return f"task:{task_id}:has-error"

    @staticmethod
    def task_resources(task_id: str) -> str:
        """Additive: the worker tree's latest CPU and memory, JSON {cpuPercent, rssBytes, processes, at}."""
        return f"task:{task_id}:resources"

    @staticmethod
    def task_heartbeat_at(task_id: str) -> str:
        """Additive: ms timestamp of the last heartbeat write, for timestamp-based liveness."""
        return f"task:{task_id}:heartbeat-at"

    @staticmethod
    def task_progress(task_id: str) -> str:
        """Additive: the task's latest progress and metrics (JSON, see `model.progress`), renewed each heartbeat."""
        return f"task:{task_id}:progress"
