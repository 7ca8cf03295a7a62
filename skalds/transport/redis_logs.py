"""Task logs on Redis: one capped stream per task (`task:{id}:logs`), all attempts in it.

Why a Redis stream and not a Kafka topic: the API reads one task's lines by id and range, a follower
resumes after the last id it saw (`XRANGE (id`), and the caps are cheap (`XADD MAXLEN ~` per line, a
byte count beside it, a key TTL refreshed on each write); a topic would need a partition scan per task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import redis

from skalds.transport.log_common import LogLimits, line_bytes, matches
from skalds.transport.ports import LogLine, LogQuery, LogRead
from skalds.transport.redis_state import RedisSettings, redis_client, redis_errors
from skalds.transport.translate import translating

CHUNK = 1000  # entries read per round trip while filtering
KEEP_AFTER_TRIM = 0.8  # a log over its byte cap is cut to this share of it, so trims are rare
# One call per task and batch, atomic (a reader never sees a log past its caps): the XADDs, the byte count
# and both TTLs; past the byte cap the oldest entries go until KEEP_AFTER_TRIM of it is left and the count
# is set to what is left (MAXLEN trims do not lower it). A pipeline of one XADD per line cost the node
# twice as much CPU. An entry's size is counted as `log_common.line_bytes` counts it.
_APPEND = """
local key, counter, maxlen, ttl, maxbytes = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[4])
for i = 6, #ARGV, 5 do
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'a', ARGV[i], 'l', ARGV[i + 1], 't', ARGV[i + 2],
             's', ARGV[i + 3], 'm', ARGV[i + 4])
end
local total = redis.call('INCRBY', counter, ARGV[3])
if total > maxbytes then
  local budget, kept, first = maxbytes * tonumber(ARGV[5]), 0, nil
  for _, entry in ipairs(redis.call('XREVRANGE', key, '+', '-', 'COUNT', tonumber(maxlen) + 1000)) do
    local size, fields = 24, entry[2]
    for j = 1, #fields, 2 do
      if fields[j] == 'l' or fields[j] == 's' or fields[j] == 'm' then size = size + string.len(fields[j + 1]) end
    end
    if kept + size > budget then break end
    kept, first = kept + size, entry[1]
  end
  if first then redis.call('XTRIM', key, 'MINID', first) else redis.call('DEL', key) end
  redis.call('SET', counter, kept)
  total = kept
end
redis.call('EXPIRE', key, ttl)
redis.call('EXPIRE', counter, ttl)
return total
"""


def _line(task_id: str, entry_id: str, fields: dict[str, str]) -> LogLine:
    return LogLine(task_id=task_id, attempt=int(fields.get("a", 0)), level=fields.get("l", "INFO"),
                   ts=int(fields.get("t", 0)), text=fields.get("m", ""), source=fields.get("s", "logger"),
                   id=entry_id)


@translating(redis_errors("task logs"))
class RedisTaskLogs:
    def __init__(self, settings: RedisSettings, limits: LogLimits | None = None,
                 client: redis.Redis | None = None) -> None:
        self.limits = limits or LogLimits()
        self.client = client or redis_client(settings)
        self._prefix = settings.key_prefix
        self._append = self.client.register_script(_APPEND)

    def _key(self, task_id: str) -> str:
        return f"{self._prefix}task:{task_id}:logs"

    def append(self, lines: Sequence[LogLine]) -> None:
        by_task: dict[str, list[LogLine]] = defaultdict(list)
        for line in lines:
            by_task[line.task_id].append(line)
        limits = self.limits
        for task_id, task_lines in by_task.items():
            key = self._key(task_id)
            args: list[int | float | str] = [limits.max_lines, limits.ttl_seconds,
                                             sum(line_bytes(line) for line in task_lines), limits.max_bytes,
                                             KEEP_AFTER_TRIM]
            for line in task_lines:
                args += [line.attempt, line.level, line.ts, line.source, line.text]
            self._append(keys=[key, key + "-bytes"], args=args)

    def read(self, task_id: str, query: LogQuery) -> LogRead:
        """Forward from `after`, or backward from the newest line; filtered here, CHUNK entries a round trip."""
        key, forward, found = self._key(task_id), query.after is not None, []
        bound, scanned = (f"({query.after}" if forward else "+"), None
        while len(found) < query.limit:
            entries = (self.client.xrange(key, min=bound, count=CHUNK) if forward
                       else self.client.xrevrange(key, max=bound, count=CHUNK))
            if entries and (forward or scanned is None):
                scanned = entries[-1][0] if forward else entries[0][0]
            found += [line for line in (_line(task_id, i, f) for i, f in entries) if matches(line, query)]
            if len(entries) < CHUNK:
                break
            bound = f"({entries[-1][0]}"
        if forward and len(found) > query.limit:  # the lines after the cut are read again next time
            scanned = found[query.limit - 1].id
        found = found[:query.limit]
        return LogRead(found if forward else found[::-1], scanned)

    def close(self) -> None:
        self.client.close()
