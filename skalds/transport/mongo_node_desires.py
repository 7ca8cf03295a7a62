"""The node desires port on MongoDB (and FerretDB): the `skald_nodes` collection beside `tasks`."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient

from skalds.transport.mongo_tasks import _translate
from skalds.transport.node_desires import MAX_NODES
from skalds.transport.translate import translating

NODES = "skald_nodes"


@translating(_translate)
class MongoNodeDesires:
    def __init__(self, client: MongoClient, db_name: str) -> None:
        self.collection = client[db_name][NODES]

    def all(self) -> dict[str, dict[str, Any]]:
        return {document["id"]: document for document in
                self.collection.find({}, {"_id": 0}).limit(MAX_NODES) if isinstance(document.get("id"), str)}

    def get(self, node_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"id": node_id}, {"_id": 0})

    def put(self, node_id: str, document: dict[str, Any]) -> None:
        self.collection.replace_one({"id": node_id}, {**document, "id": node_id}, upsert=True)

    def delete(self, node_id: str) -> None:
        self.collection.delete_many({"id": node_id})
