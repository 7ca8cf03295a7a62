"""Every task transition and its refusal cases, on the embedded store (no processes, no services)."""

from __future__ import annotations

from typing import Any

import pytest

from skalds.model.task import DesiredStatus as D
from skalds.model.task import HistoryType, Task
from skalds.model.task import TaskLifecycleStatus as S
from skalds.tasks import lifecycle, paging, queries
from skalds.tasks.attachments_view import start_attachments
from skalds.tasks.lifecycle import Refusal
from skalds.tasks.status_change import StatusChange
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit


@pytest.fixture
def store(sqlite_store: SqliteTaskStore) -> SqliteTaskStore:
    return sqlite_store


def _task(store: SqliteTaskStore, task_id: str = "t1", **fields: Any) -> dict[str, Any]:
    document = Task(id=task_id, class_name="Worker", source="test").to_document()
    assert lifecycle.create(store, document).applied
    if fields:
        store.update(task_id, fields)
    found = store.get(task_id)
    assert found is not None
    return found


def _kinds(store: SqliteTaskStore, task_id: str = "t1") -> list[str]:
    return [entry["type"] for entry in store.history(task_id)]


def test_create_writes_the_task_and_its_created_entry_once(store: SqliteTaskStore) -> None:
    _task(store)
    again = lifecycle.create(store, Task(id="t1", class_name="Other", source="test").to_document())
    assert again.refusal is Refusal.DUPLICATE and "already exists" in again.reason
    assert store.get("t1")["className"] == "Worker"  # type: ignore[index]
    assert _kinds(store) == [HistoryType.CREATED.value]


def test_assign_gives_a_created_task_a_new_attempt_once(store: SqliteTaskStore) -> None:
    document = _task(store)
    first = lifecycle.assign(store, document, "node-a")
    assert first.applied and first.document is not None
    assert (first.document["executor"], first.document["attempt"], first.document["lifecycleStatus"]) == \
        ("node-a", 1, S.Assigning.value)
    # A second dispatcher that read the same Created document loses the race.
    second = lifecycle.assign(store, document, "node-b")
    assert second.refusal is Refusal.CHANGED
    assert store.get("t1")["executor"] == "node-a"  # type: ignore[index]
    assert _kinds(store) == ["created", "assigned"]


@pytest.mark.parametrize("status", [S.Finished, S.Failed, S.Cancelled])
def test_cancel_of_an_ended_task_is_refused(store: SqliteTaskStore, status: S) -> None:
    _task(store, lifecycleStatus=status.value)
    refused = lifecycle.cancel(store, "t1")
    assert refused.refusal is Refusal.WRONG_STATUS and status.value in refused.reason
    assert store.get("t1")["lifecycleStatus"] == status.value  # type: ignore[index]


def test_cancel_of_a_missing_task_is_not_found(store: SqliteTaskStore) -> None:
    assert lifecycle.cancel(store, "nope").refusal is Refusal.NOT_FOUND


def test_cancel_of_a_task_a_node_holds_is_desired_until_the_node_stopped_it(store: SqliteTaskStore) -> None:
    lifecycle.assign(store, _task(store), "node-a")
    cancelled = lifecycle.cancel(store, "t1")
    assert cancelled.document is not None
    assert (cancelled.document["lifecycleStatus"], cancelled.document["desiredStatus"]) == \
        (S.Assigning.value, D.Cancelled.value)
    assert lifecycle.is_pending(cancelled.document)
    assert cancelled.previous is not None and (cancelled.previous["executor"], cancelled.previous["attempt"]) == \
        ("node-a", 1)
    assert store.history("t1")[-1] == {**store.history("t1")[-1], "type": "desired", "desiredStatus": "Cancelled"}
    again = lifecycle.cancel(store, "t1")  # a repeated cancel while it is pending is accepted, unchanged
    assert again.applied and again.document == store.get("t1")
    lifecycle.record_status(store, StatusChange.of("t1", S.Cancelled, executor="node-a", attempt=1))
    done = store.get("t1")
    assert done is not None and not lifecycle.is_pending(done)
    assert lifecycle.cancel(store, "t1").refusal is Refusal.WRONG_STATUS


def test_cancel_of_a_task_no_process_can_run_is_cancelled_at_once(store: SqliteTaskStore) -> None:
    _task(store)
    cancelled = lifecycle.cancel(store, "t1").document
    assert cancelled is not None and (cancelled["lifecycleStatus"], cancelled["desiredStatus"]) == \
        (S.Cancelled.value, D.Cancelled.value)
    assert not lifecycle.is_pending(cancelled)


def test_a_users_change_refuses_when_the_task_moved_on_since_it_was_read(store: SqliteTaskStore,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _task(store)
    read = store.get

    def stale_read(task_id: str) -> dict[str, Any] | None:
        document = read(task_id)
        store.update(task_id, {"lifecycleStatus": S.Running.value})  # a node wrote meanwhile
        return document

    monkeypatch.setattr(store, "get", stale_read)
    refused = lifecycle.cancel(store, "t1")
    assert refused.refusal is Refusal.CHANGED and "try again" in refused.reason
    monkeypatch.undo()
    assert store.get("t1")["lifecycleStatus"] == S.Running.value  # type: ignore[index]


def test_pause_keeps_a_held_task_on_its_node_and_frees_one_no_node_holds(store: SqliteTaskStore) -> None:
    _task(store, "running", lifecycleStatus=S.Running.value, executor="node-a")
    _task(store, "assigning", lifecycleStatus=S.Assigning.value, executor="node-a")
    running = lifecycle.pause(store, "running").document
    assert running is not None and (running["executor"], running["lifecycleStatus"], running["desiredStatus"]) == \
        ("node-a", S.Running.value, D.Paused.value)
    assert lifecycle.is_pending(running)
    assert lifecycle.pause(store, "running").document == store.get("running")  # repeated: unchanged
    # Assigning: its node may have started a process already, so the executor stays (no handoff to a second
    # copy elsewhere); the node suspends the copy, or parks the task if it never started it.
    assigning = lifecycle.pause(store, "assigning").document
    assert assigning is not None and (assigning["executor"], assigning["lifecycleStatus"],
                                      assigning["desiredStatus"]) == ("node-a", S.Assigning.value, D.Paused.value)
    _task(store, "waiting")
    waiting = lifecycle.pause(store, "waiting").document  # no node holds it: Paused at once
    assert waiting is not None and (waiting["executor"], waiting["lifecycleStatus"]) == (None, S.Paused.value)


def test_a_resume_calls_off_a_pending_pause_and_a_cancelling_task_cannot_be_paused(store: SqliteTaskStore) -> None:
    _task(store, lifecycleStatus=S.Running.value, executor="node-a")
    lifecycle.pause(store, "t1")
    resumed = lifecycle.resume(store, "t1").document
    assert resumed is not None and resumed["desiredStatus"] == D.Running.value and not lifecycle.is_pending(resumed)
    lifecycle.cancel(store, "t1")
    assert lifecycle.pause(store, "t1").refusal is Refusal.WRONG_STATUS


def test_a_pause_calls_off_a_pending_resume(store: SqliteTaskStore) -> None:
    """Paused on its node, resumed (pending), paused again before the node resumed it: the user's last word is
    the pause. The old rule answered it as done without storing it, and the node then resumed the task."""
    _task(store, lifecycleStatus=S.Paused.value, executor="node-a", desiredStatus=D.Paused.value)
    lifecycle.resume(store, "t1")
    paused = lifecycle.pause(store, "t1").document
    assert paused is not None and (paused["lifecycleStatus"], paused["desiredStatus"]) == \
        (S.Paused.value, D.Paused.value)
    assert not lifecycle.is_pending(paused)
    assert _kinds(store)[-2:] == [HistoryType.DESIRED.value, HistoryType.DESIRED.value]


def test_pause_of_a_paused_task_changes_nothing_and_an_ended_one_is_refused(store: SqliteTaskStore) -> None:
    _task(store, "paused", lifecycleStatus=S.Paused.value)
    before = store.history("paused")
    assert lifecycle.pause(store, "paused").applied
    assert store.history("paused") == before
    _task(store, "done", lifecycleStatus=S.Finished.value)
    assert lifecycle.pause(store, "done").refusal is Refusal.WRONG_STATUS


def test_resume_runs_on_the_node_or_goes_back_to_the_dispatcher(store: SqliteTaskStore) -> None:
    _task(store, "held", lifecycleStatus=S.Paused.value, executor="node-a")
    _task(store, "free", lifecycleStatus=S.Paused.value, executor=None)
    _task(store, "busy", lifecycleStatus=S.Running.value, executor="node-a")
    held = lifecycle.resume(store, "held").document
    assert held is not None and (held["lifecycleStatus"], held["desiredStatus"]) == (S.Paused.value, D.Running.value)
    assert lifecycle.is_pending(held)  # until the node resumed it and recorded Running
    assert lifecycle.resume(store, "held").document == store.get("held")  # repeated: unchanged
    assert lifecycle.resume(store, "free").document["lifecycleStatus"] == S.Created.value  # type: ignore[index]
    assert lifecycle.resume(store, "busy").refusal is Refusal.WRONG_STATUS


def test_retry_only_of_failed_or_cancelled_tasks_and_it_clears_the_error(store: SqliteTaskStore) -> None:
    _task(store, "failed", lifecycleStatus=S.Failed.value, executor="node-a", error="boom", exitCode=1)
    _task(store, "running", lifecycleStatus=S.Running.value, executor="node-a")
    retried = lifecycle.retry(store, "failed").document
    assert retried is not None
    assert (retried["lifecycleStatus"], retried["executor"], retried["error"], retried["exitCode"]) == \
        (S.Created.value, None, None, None)
    refused = lifecycle.retry(store, "running")
    assert refused.refusal is Refusal.WRONG_STATUS and "only Failed or Cancelled" in refused.reason


def test_restart_of_a_task_no_node_holds_goes_to_the_dispatcher(store: SqliteTaskStore) -> None:
    _task(store, lifecycleStatus=S.Paused.value, executor=None)
    restarted = lifecycle.restart(store, "t1").document
    assert restarted is not None and (restarted["lifecycleStatus"], restarted["executor"]) == (S.Created.value, None)


def test_attachments_get_the_next_version(store: SqliteTaskStore) -> None:
    _task(store, executor="node-a", attempt=1, lifecycleStatus=S.Running.value)
    assert lifecycle.update_attachments(store, "t1", {"a": 1}).document["attachmentsVersion"] == 1  # type: ignore[index]
    assert lifecycle.update_attachments(store, "t1", {"a": 2}).document["attachmentsVersion"] == 2  # type: ignore[index]
    assert lifecycle.update_attachments(store, "nope", {}).refusal is Refusal.NOT_FOUND
    owner = {"executor": "node-a", "attempt": 1}
    assert lifecycle.record_attachments_result(store, "t1", 2, True, **owner, held=(2, {"a": 2})).applied
    assert lifecycle.record_attachments_result(store, "t1", 1, False, "bad", **owner, held=(2, {"a": 2})).applied
    document = store.get("t1")
    assert document is not None
    assert (document["appliedAttachmentsVersion"], document["rejectedAttachmentsVersion"]) == (2, 1)
    assert _kinds(store)[-2:] == ["attachments_applied", "attachments_rejected"]


def test_a_rejected_update_is_never_what_a_new_attempt_starts_with(store: SqliteTaskStore) -> None:
    """The desired attachments stay apart from the applied ones: a retry after a rejection starts with the
    ones the worker kept, and the next update the user stores is what attempts start with again."""
    _task(store, executor="node-a", attempt=1, lifecycleStatus=S.Running.value, attachments={"seconds": 5})
    assert start_attachments(store.get("t1") or {}) == ({"seconds": 5}, 0)
    lifecycle.update_attachments(store, "t1", {"seconds": -1})
    refused = lifecycle.record_attachments_result(store, "t1", 1, False, "must be positive", executor="node-a",
                                                  attempt=1, held=(0, {"seconds": 5}))
    assert refused.applied
    document = store.get("t1") or {}
    assert document["attachments"] == {"seconds": -1}  # what the user wants: shown, kept
    assert document["appliedAttachments"] == {"seconds": 5}  # what the worker runs with
    assert start_attachments(document) == ({"seconds": 5}, 0)
    lifecycle.update_attachments(store, "t1", {"seconds": 7})
    assert start_attachments(store.get("t1") or {}) == ({"seconds": 7}, 2)


def test_attachments_results_of_an_old_attempt_are_refused(store: SqliteTaskStore) -> None:
    _task(store, executor="node-b", attempt=2, lifecycleStatus=S.Running.value)
    stale = lifecycle.record_attachments_result(store, "t1", 1, False, "bad", executor="node-a", attempt=1,
                                                held=(0, {}))
    assert stale.refusal is Refusal.NOT_OWNER and "rejectedAttachmentsVersion" not in (store.get("t1") or {})


def test_mark_lost_expects_the_executor_and_attempt_it_judged(store: SqliteTaskStore) -> None:
    assigned = lifecycle.assign(store, _task(store), "node-a").document
    assert assigned is not None
    reassigned = {**assigned, "executor": "node-b"}  # what a stale view believes
    assert lifecycle.mark_lost(store, reassigned, "node offline").refusal is Refusal.CHANGED
    lost = lifecycle.mark_lost(store, assigned, "node offline")
    assert lost.document is not None and (lost.document["lifecycleStatus"], lost.document["executor"]) == \
        (S.Created.value, None)
    _task(store, "paused", lifecycleStatus=S.Paused.value, executor="node-a", desiredStatus=D.Paused.value)
    paused = store.get("paused")
    assert paused is not None
    assert lifecycle.mark_lost(store, paused, "gone").document["lifecycleStatus"] == S.Paused.value  # type: ignore[index]
    _task(store, "cancelling", lifecycleStatus=S.Running.value, executor="node-a", desiredStatus=D.Cancelled.value)
    cancelling = store.get("cancelling")
    assert cancelling is not None  # its node is gone: no process is left to stop, it is Cancelled, never rerun
    assert lifecycle.mark_lost(store, cancelling, "gone").document["lifecycleStatus"] == S.Cancelled.value  # type: ignore[index]


def test_a_lost_paused_task_whose_resume_was_pending_runs_again(store: SqliteTaskStore) -> None:
    """The user resumed it, then its node died before resuming it: the resume must not be forgotten."""
    _task(store, "resuming", lifecycleStatus=S.Paused.value, executor="node-a", desiredStatus=D.Running.value)
    resuming = store.get("resuming")
    assert resuming is not None
    lost = lifecycle.mark_lost(store, resuming, "node offline").document
    assert lost is not None and (lost["lifecycleStatus"], lost["executor"]) == (S.Created.value, None)


def test_automatic_retry_uses_one_retry_and_only_once(store: SqliteTaskStore) -> None:
    failed = _task(store, lifecycleStatus=S.Failed.value, maxRetries=2)
    first = lifecycle.retry_failed(store, failed)
    assert first.document is not None and first.document["retryCount"] == 1
    assert lifecycle.retry_failed(store, failed).refusal is Refusal.CHANGED  # the same read, used twice
    cancelled = _task(store, "cancelled", lifecycleStatus=S.Failed.value, maxRetries=2,
                      desiredStatus=D.Cancelled.value)
    assert lifecycle.retry_failed(store, cancelled).refusal is Refusal.WRONG_STATUS  # never rerun what was cancelled


def test_a_node_writes_only_the_attempt_it_holds(store: SqliteTaskStore) -> None:
    lifecycle.assign(store, _task(store), "node-a")
    running = StatusChange.of("t1", S.Running, executor="node-a", attempt=1)
    assert lifecycle.record_status(store, running).applied
    lifecycle.assign_to(store, "t1", "node-b")  # attempt 2 elsewhere
    late = StatusChange.of("t1", S.Finished, executor="node-a", attempt=1)
    assert lifecycle.record_status(store, late).refusal is Refusal.NOT_OWNER
    assert lifecycle.record_statuses(store, [late]) == {("t1", 1)}
    document = store.get("t1")
    assert document is not None and (document["executor"], document["lifecycleStatus"]) == \
        ("node-b", S.Assigning.value)


def test_release_and_claim_are_fenced_by_the_attempt(store: SqliteTaskStore) -> None:
    lifecycle.assign(store, _task(store), "node-a")
    assert lifecycle.claim(store, "t1", executor="node-a", attempt=0).refusal is Refusal.NOT_OWNER
    claimed = lifecycle.claim(store, "t1", executor="node-a", attempt=1)
    assert claimed.document is not None and claimed.document["attempt"] == 2
    assert lifecycle.release(store, "t1", executor="node-a", attempt=1, reason="shutdown").refusal is \
        Refusal.NOT_OWNER
    released = lifecycle.release(store, "t1", executor="node-a", attempt=2, reason="shutdown")
    assert released.document is not None and released.document["executor"] is None
    assert store.history("t1")[-1]["reason"] == "shutdown"


def test_queries_select_what_they_are_named_for(store: SqliteTaskStore) -> None:
    _task(store, "waiting-low", priority=1)
    _task(store, "waiting-high", priority=5)
    _task(store, "running", lifecycleStatus=S.Running.value, executor="node-a", attempt=3, mode="Passive")
    _task(store, "edge", lifecycleStatus=S.Running.value, executor="node-a", mode="Active")
    _task(store, "failed", lifecycleStatus=S.Failed.value, maxRetries=1)
    assert [d["id"] for d in queries.waiting(store, 10)] == ["waiting-high", "waiting-low"]
    assert {d["id"] for d in queries.active(store)} == {"running", "edge"}
    assert [d["id"] for d in queries.running_on(store, "node-a")] == ["running"]
    assert queries.owned_attempts(store, "node-a", ["running", "waiting-low"]) == {"running": 3}
    assert [d["id"] for d in queries.failed_with_retries(store, 10)] == ["failed"]
    assert queries.counts_by_status(store) == {"Created": 2, "Running": 2, "Failed": 1}
    found = paging.page(store, queries.TaskFilter(id_contains="WAIT"), sort_by="priority", descending=True,
                        page_number=1, page_size=1)
    assert (found.total, [d["id"] for d in found.documents]) == (2, ["waiting-high"])


def test_restart_of_a_held_task_is_the_next_attempt_on_the_same_node(store: SqliteTaskStore) -> None:
    lifecycle.assign(store, _task(store), "node-a")
    lifecycle.record_status(store, StatusChange.of("t1", S.Running, executor="node-a", attempt=1))
    restarted = lifecycle.restart(store, "t1").document
    assert restarted is not None  # no handoff: nobody else may start it while the old copy still runs
    assert (restarted["executor"], restarted["attempt"], restarted["lifecycleStatus"]) == ("node-a", 2, "Assigning")
    assert store.history("t1")[-1]["reason"] == "restart"
    late = StatusChange.of("t1", S.Cancelled, executor="node-a", attempt=1)  # the old copy's last word
    assert lifecycle.record_status(store, late).refusal is Refusal.NOT_OWNER
