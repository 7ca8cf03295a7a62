"""Retry backoff of failed tasks: due = updateDateTime + backoff × 2^retries, within the retry budget."""

import pytest

from skalds.system_controller.policy.retries import plan_retries, retry_due_ms

pytestmark = pytest.mark.unit

BACKOFF_MS = 5000


def failed(task_id: str, *, retries: int, budget: int, failed_at: int) -> dict:
    return {"id": task_id, "retryCount": retries, "maxRetries": budget, "updateDateTime": failed_at}


def test_backoff_doubles_per_retry():
    assert retry_due_ms(failed("t", retries=0, budget=3, failed_at=1000), BACKOFF_MS) == 6000
    assert retry_due_ms(failed("t", retries=1, budget=3, failed_at=1000), BACKOFF_MS) == 11_000
    assert retry_due_ms(failed("t", retries=2, budget=3, failed_at=1000), BACKOFF_MS) == 21_000


def test_spent_budget_means_no_retry():
    assert retry_due_ms(failed("t", retries=3, budget=3, failed_at=0), BACKOFF_MS) is None
    assert retry_due_ms({"id": "t"}, BACKOFF_MS) is None  # no budget at all


def test_plan_splits_due_tasks_from_waiting_ones_and_says_when_the_next_is_due():
    documents = [failed("due", retries=0, budget=1, failed_at=0),
                 failed("later", retries=1, budget=2, failed_at=0),  # due at 10 000
                 failed("soon", retries=0, budget=2, failed_at=4000),  # due at 9 000
                 failed("spent", retries=2, budget=2, failed_at=0)]
    plan = plan_retries(documents, now_ms=6000, backoff_ms=BACKOFF_MS)
    assert [document["id"] for document in plan.due] == ["due"]
    assert plan.next_due_in == 3.0


def test_plan_without_waiting_retries_has_no_next_due():
    plan = plan_retries([failed("due", retries=0, budget=1, failed_at=0)], now_ms=5000, backoff_ms=BACKOFF_MS)
    assert [document["id"] for document in plan.due] == ["due"]
    assert plan.next_due_in is None
    assert plan_retries([], now_ms=0, backoff_ms=BACKOFF_MS).next_due_in is None
