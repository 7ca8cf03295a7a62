"""Events port contract: the same behaviour on Kafka and on the embedded SQLite file."""

from __future__ import annotations

import pytest

from support.families import Family, drain, quiet, unique

pytestmark = pytest.mark.integration


def test_published_event_is_consumed_with_topic_key_and_value(family: Family) -> None:
    topic, = family.topics("task.assign")
    consumer = family.consumer(unique("g-"), [topic])
    family.publish(topic, "task-1", '{"taskIds":["task-1"]}')
    event, = drain(consumer, 1)
    assert (event.topic, event.key, event.value) == (topic, "task-1", b'{"taskIds":["task-1"]}')
    consumer.commit(event)


def test_bytes_and_text_values_arrive_as_the_same_bytes(family: Family) -> None:
    topic, = family.topics("testing")
    consumer = family.consumer(unique("g-"), [topic])
    family.publish(topic, "k", "h\u00e9llo")
    family.publish(topic, "k", b"\x00\xffraw")
    assert [event.value for event in drain(consumer, 2)] == ["h\u00e9llo".encode(), b"\x00\xffraw"]


def test_events_of_several_topics_arrive_in_publish_order_per_topic(family: Family) -> None:
    assign, cancel = family.topics("task.assign", "task.cancel")
    consumer = family.consumer(unique("g-"), [assign, cancel])
    for index in range(5):
        family.publish(assign, f"a{index}", "x")
        family.publish(cancel, f"c{index}", "y")
    events = drain(consumer, 10)
    assert [e.key for e in events if e.topic == assign] == [f"a{i}" for i in range(5)]
    assert [e.key for e in events if e.topic == cancel] == [f"c{i}" for i in range(5)]


def test_a_new_group_starts_at_the_end(family: Family) -> None:
    topic, = family.topics("task.assign")
    family.publish(topic, "before", "old")
    consumer = family.consumer(unique("g-"), [topic])
    family.publish(topic, "after", "new")
    assert [event.key for event in drain(consumer, 1)] == ["after"]
    assert quiet(consumer, 1.0) == []


def test_an_uncommitted_event_is_delivered_again_after_a_restart(family: Family) -> None:
    topic, = family.topics("task.assign")
    group = unique("g-")
    consumer = family.consumer(group, [topic])
    family.publish(topic, "t1", "first")
    assert drain(consumer, 1)[0].key == "t1"
    consumer.close()  # not committed

    again = family.consumer(group, [topic])
    event, = drain(again, 1)
    assert (event.key, event.value) == ("t1", b"first")
    again.commit(event)
    again.close()

    third = family.consumer(group, [topic])
    assert quiet(third, 2.0) == []


def test_a_restarted_group_resumes_after_its_last_commit(family: Family) -> None:
    topic, = family.topics("task.assign")
    group = unique("g-")
    consumer = family.consumer(group, [topic])
    for index in range(4):
        family.publish(topic, f"t{index}", str(index))
    first, second = drain(consumer, 2)
    consumer.commit(first)
    consumer.commit(second)
    consumer.close()
    family.publish(topic, "t4", "4")  # published while the group is away

    resumed = family.consumer(group, [topic])
    assert [event.key for event in drain(resumed, 3)] == ["t2", "t3", "t4"]


def test_a_group_that_first_appeared_keeps_events_published_while_it_was_away(family: Family) -> None:
    """The starting position of a new group is committed at once (a restart does not skip ahead)."""
    topic, = family.topics("task.assign")
    group = unique("g-")
    family.consumer(group, [topic]).close()
    family.publish(topic, "while-away", "x")
    resumed = family.consumer(group, [topic])
    assert [event.key for event in drain(resumed, 1)] == ["while-away"]


def test_two_groups_each_receive_every_event(family: Family) -> None:
    topic, = family.topics("task.cancel")
    one, two = family.consumer(unique("g1-"), [topic]), family.consumer(unique("g2-"), [topic])
    for index in range(6):
        family.publish(topic, f"k{index}", str(index))
    expected = [f"k{index}" for index in range(6)]
    assert [event.key for event in drain(one, 6)] == expected
    assert [event.key for event in drain(two, 6)] == expected


def test_committing_in_one_group_does_not_move_another(family: Family) -> None:
    topic, = family.topics("task.assign")
    fast_group, slow_group = unique("fast-"), unique("slow-")
    fast, slow = family.consumer(fast_group, [topic]), family.consumer(slow_group, [topic])
    family.publish(topic, "k", "v")
    fast.commit(drain(fast, 1)[0])
    assert drain(slow, 1)[0].key == "k"
    slow.close()  # slow never committed: it gets the event again
    assert drain(family.consumer(slow_group, [topic]), 1)[0].key == "k"


def test_publishing_without_a_key_is_refused(family: Family) -> None:
    topic, = family.topics("task.assign")
    publisher = family.publisher()
    with pytest.raises(ValueError, match="key"):
        publisher.publish(topic, "", "value")
    assert publisher.flush(10) == 0


def test_offsets_are_kept_per_topic(family: Family) -> None:
    """Committing a later event of one topic does not skip an uncommitted earlier one of another."""
    assign, cancel = family.topics("task.assign", "task.cancel")
    group = unique("g-")
    consumer = family.consumer(group, [assign, cancel])
    family.publish(assign, "a1", "x")
    family.publish(cancel, "c1", "y")
    events = {event.key: event for event in drain(consumer, 2)}
    consumer.commit(events["c1"])  # a1 stays uncommitted
    consumer.close()
    resumed = family.consumer(group, [assign, cancel])
    assert [event.key for event in drain(resumed, 1)] == ["a1"]
    assert quiet(resumed, 1.5) == []
