"""Live-state port contract: the same behaviour on Redis and on the embedded SQLite file."""

from __future__ import annotations

import time

import pytest

from skalds.transport.ports import LiveBatch, LiveReadBatch, LiveState
from support.cluster import wait_for
from support.families import Family, unique

pytestmark = pytest.mark.integration


@pytest.fixture
def live(family: Family) -> LiveState:
    state = family.live()
    assert state.ping() is True
    return state


def test_set_get_and_mget(live: LiveState) -> None:
    live.write(lambda batch: (batch.set("a", "1"), batch.set("b", "two")))
    assert live.get("a") == "1"
    assert live.mget(["a", "missing", "b"]) == ["1", None, "two"]
    assert live.mget([]) == []
    live.write(lambda batch: batch.set("a", "3"))
    assert live.get("a") == "3"


def test_a_key_with_a_ttl_expires(live: LiveState) -> None:
    live.write(lambda batch: (batch.set("short", "x", ttl=0.3), batch.set("long", "y", ttl=60)))
    wait_for(lambda: live.get("short") is None, 10, "the short key to expire")
    assert live.get("long") == "y"


def test_setting_without_a_ttl_keeps_the_key(live: LiveState) -> None:
    live.write(lambda batch: batch.set("k", "1", ttl=0.3))
    live.write(lambda batch: batch.set("k", "2"))
    time.sleep(0.6)  # past the first TTL: the second write removed it
    assert live.get("k") == "2"


def test_hash_fields(live: LiveState) -> None:
    live.write(lambda batch: (batch.hset("h", "n1", "10"), batch.hset("h", "n2", "20"), batch.hset("h", "n1", "11")))
    assert live.hgetall("h") == {"n1": "11", "n2": "20"}
    live.write(lambda batch: batch.hdel("h", "n1"))
    assert live.hgetall("h") == {"n2": "20"}
    live.write(lambda batch: batch.hdel("h", "n2"))
    assert live.hgetall("h") == {}


def test_lists_are_replaced_whole_and_can_expire(live: LiveState) -> None:
    live.write(lambda batch: batch.replace_list("l", ["a", "b", "a"]))
    assert live.lrange("l") == ["a", "b", "a"]
    live.write(lambda batch: batch.replace_list("l", ["c"]))
    assert live.lrange("l") == ["c"]
    live.write(lambda batch: batch.replace_list("l", []))
    assert live.lrange("l") == []
    live.write(lambda batch: batch.replace_list("gone", ["x"], ttl=0.3))
    wait_for(lambda: live.lrange("gone") == [], 10, "the list to expire")


def test_delete_removes_any_kind_of_key(live: LiveState) -> None:
    live.write(lambda batch: (batch.set("s", "1"), batch.hset("h", "f", "v"), batch.replace_list("l", ["x"])))
    live.write(lambda batch: (batch.delete("s"), batch.delete("h"), batch.delete("l"), batch.delete("never")))
    assert (live.get("s"), live.hgetall("h"), live.lrange("l")) == (None, {}, [])


def test_reads_are_batched_in_queue_order_with_empty_defaults(live: LiveState) -> None:
    def fill(batch: LiveBatch) -> None:
        batch.set("node:1", "100")
        batch.hset("registry", "node-1", "100")
        batch.hset("info:node-1", "capacity", "4")
        batch.replace_list("classes:node-1", ["Alpha", "Beta"])
    live.write(fill)

    def reads(batch: LiveReadBatch) -> None:
        batch.get("node:1")
        batch.hgetall("registry")
        batch.lrange("classes:node-1")
        batch.hget("info:node-1", "capacity")
        batch.get("missing")
        batch.hget("info:node-1", "missing")
        batch.hgetall("missing")
        batch.lrange("missing")
    assert live.read(reads) == ["100", {"node-1": "100"}, ["Alpha", "Beta"], "4", None, None, {}, []]


def test_keys_are_isolated_by_prefix(family: Family) -> None:
    one, two = family.live(unique("p1-")), family.live(unique("p2-"))
    one.write(lambda batch: (batch.set("k", "one"), batch.hset("h", "f", "one")))
    assert two.get("k") is None and two.hgetall("h") == {}
    assert one.get("k") == "one"


def test_a_lease_is_exclusive_until_released(live: LiveState) -> None:
    assert live.acquire_lease("leader", "a", 30) is True
    assert live.acquire_lease("leader", "b", 30) is False
    assert live.get("leader") == "a"
    assert live.acquire_lease("leader", "a", 30) is True  # renewal
    live.release_lease("leader", "b")  # not the holder: nothing happens
    assert live.get("leader") == "a"
    live.release_lease("leader", "a")
    assert live.get("leader") is None
    assert live.acquire_lease("leader", "b", 30) is True


def test_a_lease_that_is_not_renewed_expires(live: LiveState) -> None:
    assert live.acquire_lease("leader", "a", 0.3) is True
    wait_for(lambda: live.acquire_lease("leader", "b", 30), 10, "b to take the expired lease")
    assert live.get("leader") == "b"
    assert live.acquire_lease("leader", "a", 30) is False


def test_renewing_extends_the_lease(live: LiveState) -> None:
    assert live.acquire_lease("leader", "a", 1.5) is True
    for _ in range(7):  # 2.1 s in all, past the first TTL
        time.sleep(0.3)
        assert live.acquire_lease("leader", "a", 1.5) is True
        assert live.acquire_lease("leader", "b", 1.5) is False
