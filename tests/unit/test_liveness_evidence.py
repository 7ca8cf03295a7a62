"""No lost verdicts until a full heartbeat timeout of fresh evidence after a start, a new lead or an outage."""

from __future__ import annotations

import pytest

from skalds.system_controller.policy.evidence import LivenessEvidence

pytestmark = pytest.mark.unit


def test_verdicts_wait_one_timeout_after_start_and_after_each_reason() -> None:
    evidence = LivenessEvidence(6.0, now=100.0)
    assert not evidence.allows_verdicts(105.9) and evidence.allows_verdicts(106.0)
    evidence.begin("live state is empty", now=200.0)
    assert not evidence.allows_verdicts(205.0) and evidence.allows_verdicts(206.0)


def test_a_later_reason_extends_the_wait_and_an_earlier_one_never_shortens_it() -> None:
    evidence = LivenessEvidence(6.0, now=0.0)
    evidence.begin("outage", now=4.0)
    assert evidence.grace_until == 10.0 and evidence.reason == "outage"
    evidence.begin("took the lead", now=1.0)
    assert evidence.grace_until == 10.0 and evidence.reason == "outage"
