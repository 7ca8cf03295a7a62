"""Task logs on Redis: one capped stream per task (`task:{id}:logs`), all attempts in it.

Why a Redis stream and not a Kafka topic: the API reads one task's lines by id and range, a follower
resumes after the last id it saw (`XRANGE (id`), and the caps are cheap (`XADD MAXLEN ~` per line, a
byte count beside it, a key TTL refreshed on each write); a topic would need a partition scan per task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis

from skalds.transport.errors import LiveStateUnavailableError
from skalds.transport.log_common import LogLimits, line_bytes, matches
from skalds.transport.ports import LogLine, LogQuery
from skalds.transport.redis_state import RedisSettings, redis_client
from skalds.transport.translate import translating

CHUNK = 1000  # entries read per round trip while filtering
KEEP_AFTER_TRIM = 0.8  # a log over its byte cap is cut to this share of it, so trims are rare


def _translate(error: Exception) -> Exception | None:
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return LiveStateUnavailableError(f"task logs (Redis) did not answer: {error}")
    return None


def _fields(line: LogLine) -> dict[str, Any]:
    return {"a": line.attempt, "l": line.level, "t": line.ts, "s": line.source, "m": line.text}


def _line(task_id: str, entry_id: str, fields: dict[str, str]) -> LogLine:
    return LogLine(task_id=task_id, attempt=int(fields.get("a", 0)), level=fields.get("l", "INFO"),
                   ts=int(fields.get("t", 0)), text=fields.get("m", ""), source=fields.get("s", "logger"),
                   id=entry_id)


@translating(_translate)
class RedisTaskLogs:
    def __init__(self, settings: RedisSettings, limits: LogLimits | None = None,
                 client: redis.Redis | None = None) -> None:
        self.limits = limits or LogLimits()
        self.client = client or redis_client(settings)
        self._prefix = settings.key_prefix

    def _key(self, task_id: str) -> str:
        return f"{self._prefix}task:{task_id}:logs"

    def append(self, lines: Sequence[LogLine]) -> None:
        by_task: dict[str, list[LogLine]] = defaultdict(list)
        for line in lines:
            by_task[line.task_id].append(line)
        limits, pipeline = self.limits, self.client.pipeline(transaction=False)
        for task_id, task_lines in by_task.items():
            key = self._key(task_id)
            for line in task_lines:
                pipeline.xadd(key, _fields(line), maxlen=limits.max_lines, approximate=True)
            pipeline.incrby(key + "-bytes", sum(line_bytes(line) for line in task_lines))
            pipeline.expire(key, limits.ttl_seconds)
            pipeline.expire(key + "-bytes", limits.ttl_seconds)
        results = pipeline.execute()
        position = 0
        for task_id, task_lines in by_task.items():
            position += len(task_lines)
            if int(results[position]) > limits.max_bytes:
                self._trim_bytes(task_id)
            position += 3

    def _trim_bytes(self, task_id: str) -> None:
        """Drop the oldest lines until the log holds at most KEEP_AFTER_TRIM of its byte cap; the byte
        count becomes exact again (MAXLEN trims do not lower it)."""
        key = self._key(task_id)
        entries = self.client.xrevrange(key, count=self.limits.max_lines + CHUNK)
        budget, kept, first_kept = int(self.limits.max_bytes * KEEP_AFTER_TRIM), 0, None
        for entry_id, fields in entries:
            size = line_bytes(_line(task_id, entry_id, fields))
            if kept + size > budget:
                break
            kept, first_kept = kept + size, entry_id
        pipeline = self.client.pipeline(transaction=False)
        if first_kept is None:
            pipeline.delete(key)
        else:
            pipeline.xtrim(key, minid=first_kept)
        pipeline.set(key + "-bytes", kept, ex=self.limits.ttl_seconds)
        pipeline.execute()

    def read(self, task_id: str, query: LogQuery) -> list[LogLine]:
        """Forward from `after`, or backward from the newest line; filtered here, CHUNK entries a round trip."""
        key, forward, found = self._key(task_id), query.after is not None, []
        bound = f"({query.after}" if forward else "+"
        while len(found) < query.limit:
            entries = (self.client.xrange(key, min=bound, count=CHUNK) if forward
                       else self.client.xrevrange(key, max=bound, count=CHUNK))
            found += [line for line in (_line(task_id, i, f) for i, f in entries) if matches(line, query)]
            if len(entries) < CHUNK:
                break
            bound = f"({entries[-1][0]}"
        found = found[:query.limit]
        return found if forward else found[::-1]

    def close(self) -> None:
        self.client.close()
