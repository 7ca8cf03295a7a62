"""The node's pure policies, without processes: exit -> outcome, stop deadlines, ownership."""

import signal

import pytest

from skalds.model.task import HeartbeatCode, TaskLifecycleStatus
from skalds.node.outcomes import RELEASING_STOPS, judge_exit
from skalds.node.ownership import lost_copies
from skalds.node.stopping import StopDeadlines, StopPolicy, next_wait
from skalds.worker.protocol import ExitCode, Outcome, OutcomeReport

pytestmark = pytest.mark.unit

KILLED = "killed by signal 9 (SIGKILL)"


def test_a_reported_finish_is_finished_without_error():
    verdict = judge_exit(OutcomeReport(Outcome.FINISHED), 0, None, "exit code 0")
    assert (verdict.status, verdict.heartbeat, verdict.error) == (
        TaskLifecycleStatus.Finished, HeartbeatCode.FINISHED, None)
    assert not verdict.released


def test_a_reported_failure_keeps_the_workers_traceback():
    error = "Traceback (most recent call last):\n  ...\nValueError: boom\n"
    verdict = judge_exit(OutcomeReport(Outcome.FAILED, error), int(ExitCode.FAILED), None, "exit code 1")
    assert (verdict.status, verdict.heartbeat, verdict.error) == (
        TaskLifecycleStatus.Failed, HeartbeatCode.FAILED, error)
    assert verdict.error_line == "ValueError: boom"


def test_an_exit_without_a_report_fails_with_the_exit_described():
    verdict = judge_exit(None, 7, None, "exit code 7")
    assert (verdict.status, verdict.heartbeat) == (TaskLifecycleStatus.Failed, HeartbeatCode.FAILED)
    assert verdict.error == "worker process ended without reporting an outcome: exit code 7"


def test_a_signal_without_a_report_fails_unless_the_node_was_stopping_it():
    assert judge_exit(None, -signal.SIGKILL, None, KILLED).status == TaskLifecycleStatus.Failed
    cancelled = judge_exit(None, -signal.SIGKILL, "cancel", KILLED)
    assert (cancelled.status, cancelled.heartbeat) == (TaskLifecycleStatus.Cancelled, HeartbeatCode.CANCELLED)
    assert cancelled.error == f"worker process ended without reporting an outcome: {KILLED}"


@pytest.mark.parametrize("code", [0, int(ExitCode.CANCELLED)])
def test_an_exit_code_alone_decides_when_nothing_was_reported(code):
    expected = TaskLifecycleStatus.Finished if code == 0 else TaskLifecycleStatus.Cancelled
    verdict = judge_exit(None, code, None, f"exit code {code}")
    assert (verdict.status, verdict.error) == (expected, None)


def test_a_cancel_by_the_user_is_recorded_cancelled():
    verdict = judge_exit(OutcomeReport(Outcome.CANCELLED), int(ExitCode.CANCELLED), "cancel", "exit code 143")
    assert (verdict.status, verdict.heartbeat) == (TaskLifecycleStatus.Cancelled, HeartbeatCode.CANCELLED)


@pytest.mark.parametrize("reason", sorted(RELEASING_STOPS))
def test_a_releasing_stop_records_nothing(reason):
    assert {"shutdown", "drain", "lost", "superseded", "fenced"} == RELEASING_STOPS
    assert judge_exit(OutcomeReport(Outcome.CANCELLED), int(ExitCode.CANCELLED), reason, "exit code 143").released
    assert judge_exit(None, -signal.SIGKILL, reason, KILLED).released  # killed past its grace: still released


@pytest.mark.parametrize("reason", sorted(RELEASING_STOPS))
def test_a_task_that_ended_on_its_own_during_a_releasing_stop_keeps_its_outcome(reason):
    assert judge_exit(OutcomeReport(Outcome.FINISHED), 0, reason, "exit code 0").status == \
        TaskLifecycleStatus.Finished
    assert judge_exit(OutcomeReport(Outcome.FAILED, "E: x"), 1, reason, "exit code 1").status == \
        TaskLifecycleStatus.Failed


@pytest.mark.parametrize("reason", [None, "fenced", "cancel"])
def test_a_worker_that_fenced_itself_is_released_whatever_the_node_was_doing(reason):
    assert judge_exit(None, int(ExitCode.FENCED), reason, "exit code 75").released


def test_an_unknown_exit_fails_and_says_so():
    how = "exit code unknown: the worker fork server could not fork it or died before reporting it"
    verdict = judge_exit(None, None, None, how)
    assert verdict.status == TaskLifecycleStatus.Failed
    assert verdict.error is not None and verdict.error.endswith(how)


def test_an_unknown_reported_outcome_counts_as_failed():
    assert judge_exit(OutcomeReport("strange"), 0, None, "exit code 0").status == TaskLifecycleStatus.Failed


def test_stop_deadlines_follow_the_request_timeout_then_the_grace():
    deadlines = StopPolicy(request_timeout=2.0, grace_seconds=10.0).deadlines(now=100.0)
    assert (deadlines.term_at, deadlines.kill_at) == (102.0, 112.0)
    assert StopPolicy(2.0, 10.0).patience() == 14.0


def test_each_signal_is_due_once_in_order():
    deadlines = StopDeadlines(term_at=102.0, kill_at=112.0)
    assert deadlines.due(101.9) is None
    assert deadlines.due(102.0) == signal.SIGTERM
    assert deadlines.due(105.0) is None  # SIGTERM is not sent twice
    assert deadlines.due(112.0) == signal.SIGKILL
    assert deadlines.due(200.0) is None


def test_sigkill_wins_when_both_deadlines_have_passed():
    deadlines = StopDeadlines(term_at=102.0, kill_at=112.0)
    assert deadlines.due(120.0) == signal.SIGKILL
    assert deadlines.due(120.0) is None  # and ends it: no SIGTERM after it


def test_the_reactor_sleeps_until_the_soonest_deadline_and_at_most_a_second():
    assert next_wait([], now=0.0) == 1.0
    assert next_wait([None, StopDeadlines(term_at=None, kill_at=5.0)], now=4.75) == 0.25
    assert next_wait([StopDeadlines(term_at=1.0, kill_at=11.0)], now=3.0) == 0.0  # passed: look now
    assert next_wait([StopDeadlines(term_at=None, kill_at=None)], now=3.0) == 1.0


def test_a_copy_is_lost_when_the_store_names_no_attempt_of_it_here():
    held = {"a": 1, "b": 2, "c": 1}
    assert lost_copies(held, {"a": 1, "b": 3}) == ["c"]  # b: a newer attempt is assigned here, not lost
