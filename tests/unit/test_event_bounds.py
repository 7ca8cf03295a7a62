"""Events are bounded and their ids printable before anything logs or looks them up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from skalds.model.event import MAX_TASK_IDS, TaskEvent
from skalds.model.ids import shown

pytestmark = pytest.mark.unit


def test_an_id_with_a_newline_is_refused_and_shown_escaped() -> None:
    with pytest.raises(ValidationError) as raised:
        TaskEvent.model_validate({"taskIds": ["ok", "evil\n2026-12-01 | INFO | forged line"]})
    message = str(raised.value)
    assert "'evil\\n2026" in message and "evil\n2026" not in message


@pytest.mark.parametrize("ids", [[""], ["x" * 1001], [7]])
def test_ids_must_be_printable_strings_of_bounded_length(ids: list[object]) -> None:
    with pytest.raises(ValidationError):
        TaskEvent.model_validate({"taskIds": ids})


def test_a_list_longer_than_the_hard_bound_is_refused() -> None:
    with pytest.raises(ValidationError):
        TaskEvent.model_validate({"taskIds": [f"t{i}" for i in range(MAX_TASK_IDS + 1)]})


def test_recipient_is_a_printable_id_or_empty() -> None:
    assert TaskEvent.model_validate({"taskIds": ["a"], "recipient": ""}).recipient == ""
    with pytest.raises(ValidationError):
        TaskEvent.model_validate({"taskIds": ["a"], "recipient": "node\r\n"})


def test_shown_keeps_good_ids_and_escapes_and_cuts_the_rest() -> None:
    assert shown("task-1") == "task-1"
    assert shown("a\nb") == "'a\\nb'"
    assert len(shown("y" * 500)) == 80
