"""The indexes of the `tasks` collection, one table for both stores (MongoDB-wire and the embedded file).

Each entry names the keys in order; the queries each one serves are listed in `skalds/tasks/queries.py`
(the table at its top), and tests/integration/test_query_plans.py checks with `explain` / `EXPLAIN QUERY
PLAN` that they are used. A list sorted by a key ends with `id`, the keyset's tie-breaker: the sort is
(key, id) in one direction, so one ascending index serves both directions.

Names are new whenever keys change (a server refuses an index whose name exists with other keys): a
store made by an older version keeps its old indexes too (`created`, `updated`, `status_created`,
`class_created`), which still work and can be dropped by hand.
"""

from __future__ import annotations

ASC, DESC = 1, -1
Keys = tuple[tuple[str, int], ...]

TASK_INDEXES: dict[str, Keys] = {
    # the runtime's reads (nodes, dispatcher, monitor, retention)
    "executor_status": (("executor", ASC), ("lifecycleStatus", ASC)),
    "mode_status_priority": (("mode", ASC), ("lifecycleStatus", ASC), ("priority", DESC)),
    "status_updated": (("lifecycleStatus", ASC), ("updateDateTime", ASC)),
    "priority_created": (("priority", DESC), ("createDateTime", ASC)),
    # GET /api/tasks without a filter, by each sortable key (sortBy=id: the unique `id` index)
    "list_created": (("createDateTime", ASC), ("id", ASC)),
    "list_updated": (("updateDateTime", ASC), ("id", ASC)),
    "list_priority": (("priority", ASC), ("id", ASC)),
    "list_class": (("className", ASC), ("id", ASC)),
    "list_status": (("lifecycleStatus", ASC), ("id", ASC)),
    "list_executor": (("executor", ASC), ("id", ASC)),
    # GET /api/tasks with one filter, by creation or update time
    "status_created_id": (("lifecycleStatus", ASC), ("createDateTime", ASC), ("id", ASC)),
    "status_updated_id": (("lifecycleStatus", ASC), ("updateDateTime", ASC), ("id", ASC)),
    "class_created_id": (("className", ASC), ("createDateTime", ASC), ("id", ASC)),
    "class_updated_id": (("className", ASC), ("updateDateTime", ASC), ("id", ASC)),
    "executor_created_id": (("executor", ASC), ("createDateTime", ASC), ("id", ASC)),
    "executor_updated_id": (("executor", ASC), ("updateDateTime", ASC), ("id", ASC)),
}

HISTORY_INDEXES: dict[str, Keys] = {
    "task_ts": (("taskId", ASC), ("ts", ASC)),  # a task's history, oldest first (the only history read)
}
