"""Each update of a document is atomic on the task store's MongoDB-wire server, as on MongoDB: concurrent
`$inc`s all count, and of two clients racing on one compare-and-set exactly one wins. FerretDB 1.24 read and
wrote in two steps with nothing held between them (our build's `skalds_writes.go` fixes it); Skalds's
fencing of attempts depends on this."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from support.services import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def collection(services: Endpoints, names: dict[str, str]) -> Iterator[Collection]:
    client = MongoClient(services.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        yield client[names["db_name"]]["atomic_updates"]
    finally:
        client.drop_database(names["db_name"])
        client.close()


def side_by_side(*actions) -> None:
    barrier = threading.Barrier(len(actions))

    def run(action) -> None:
        barrier.wait()
        action()
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_concurrent_increments_of_one_document_all_count(collection: Collection) -> None:
    collection.insert_one({"_id": "counted", "n": 0, "a": 0, "b": 0})

    def bump(field: str):
        return lambda: [collection.update_one({"_id": "counted"}, {"$inc": {"n": 1, field: 1}}) for _ in range(150)]
    side_by_side(bump("a"), bump("b"))
    assert collection.find_one({"_id": "counted"}) == {"_id": "counted", "n": 300, "a": 150, "b": 150}


def claim(collection: Collection, owner: str, won: list[int]) -> None:
    result = collection.update_one({"_id": "claimed", "attempt": 0}, {"$set": {"attempt": 1, "owner": owner}})
    won.append(result.modified_count)


def test_exactly_one_of_two_racing_compare_and_sets_wins(collection: Collection) -> None:
    double = 0
    for _ in range(60):
        collection.replace_one({"_id": "claimed"}, {"_id": "claimed", "attempt": 0}, upsert=True)
        won: list[int] = []
        side_by_side(*(functools.partial(claim, collection, owner, won) for owner in ("first", "second")))
        double += sum(won) > 1
        assert sum(won) >= 1
    assert double == 0, f"{double} of 60 races had two winners"
