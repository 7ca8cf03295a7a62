"""Property-based fuzzing of the controller's API from its own OpenAPI document, with every Schemathesis check.

Three controllers: an open one (no tokens); one with tokens, fuzzed with the admin token and without any
(then every protected operation must answer its documented 401); and an open one whose task store holds
malformed documents. Positive and negative cases; path ids are often real (or planted) task ids so the
actions reach real documents. Every failing operation is reported, not only the first.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pymongo
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from support.controller import ControllerFactory
from support.services import endpoints

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAMS = r"^/api/events/(tasks|skalds|test)$|^/api/tasks/\{task_id\}/logs/stream$"  # endless Server-Sent Events
REAL_IDS = [f"fuzz-{index}" for index in range(3)]
PLANTED = [
    {"id": "bad-attempt", "className": "SleepWorker", "lifecycleStatus": "Running", "attempt": "abc"},
    {"id": "bad-executor", "className": "SleepWorker", "lifecycleStatus": "Assigning", "executor": ["a", "b"]},
    {"className": "SleepWorker", "lifecycleStatus": "Created", "createDateTime": 1},
    {"id": "bad-created", "className": "SleepWorker", "lifecycleStatus": "Created", "createDateTime": "yesterday"},
    {"id": "bad-status", "className": 7, "lifecycleStatus": "Exploded", "attachments": [1, 2]},
]
PLANTED_IDS = [document["id"] for document in PLANTED if "id" in document]
# A create whose body fits the document is still refused (422) when no node has registered its class, or its
# attachments do not fit the schema the class's nodes published: both depend on the nodes, not on the document.
CREATE_MAY_REFUSE = {"operations": [{"include-path": "/api/tasks", "include-method": "POST", "checks": {
    "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429",
                                                       "5xx"]}}}]}


def _names() -> dict[str, str]:
    token = uuid.uuid4().hex[:10]
    return {"token": token, "topic_prefix": f"t{token}.", "db_name": f"skalds_fuzz_{token}",
            "redis_prefix": f"t{token}:"}


@pytest.fixture(scope="module")
def controllers(tmp_path_factory):
    """name -> (controller, admin token or None); each on its own names, started once for the module."""
    started: list[tuple[ControllerFactory, str]] = []

    def start(label: str, token: str | None) -> Any:
        names = _names()
        factory = ControllerFactory(endpoints(), names, tmp_path_factory.mktemp(f"fuzz-{label}"))
        started.append((factory, names["db_name"]))
        controller = factory.start(token=token)
        for task_id in REAL_IDS:  # real tasks, so ids and filters hit real documents
            controller.http.post("/api/tasks", json={"waitForClass": True, "id": task_id, "className": "SleepWorker",
                                                     "attachments": {"seconds": 1}})
        return controller, names["db_name"]

    admin = uuid.uuid4().hex
    open_controller, _ = start("open", None)
    secured, _ = start("tokens", admin)
    planted, db_name = start("planted", None)
    client = pymongo.MongoClient(endpoints().mongo_uri)
    client[db_name]["tasks"].insert_many([dict(document) for document in PLANTED])
    yield {"open": (open_controller, None), "tokens": (secured, admin), "planted": (planted, None)}
    for factory, name in started:
        factory.stop_all()
        client.drop_database(name)
    client.close()


class Run:
    """What one fuzzing run sent and got: operations, cases, answers by status code, failures."""

    def __init__(self, url: str, ids: list[str], examples: int) -> None:
        self.url, self.ids, self.examples = url, ids, examples
        self.session = requests.Session()
        self.operations = self.cases = 0
        self.statuses: Counter[tuple[str, int]] = Counter()  # (generation mode, status code)
        self.failures: list[str] = []

    def operation(self, operation: Any, mode: GenerationMode) -> None:
        @given(case=operation.as_strategy(generation_mode=mode), known=st.sampled_from([None, *self.ids]))
        @settings(max_examples=self.examples, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None, derandomize=True)
        def fuzz(case: Any, known: str | None) -> None:
            if known and mode is GenerationMode.POSITIVE and "task_id" in (case.path_parameters or {}):
                case.path_parameters["task_id"] = known  # reach real (or planted) documents
            self.cases += 1
            response = case.call_and_validate(base_url=self.url, session=self.session)
            self.statuses[mode.value, response.status_code] += 1

        try:
            fuzz()
        except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters, no body)
            pass
        except (Exception, BaseExceptionGroup) as error:  # schemathesis' FailureGroup is a BaseExceptionGroup
            self.failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {str(error)[:1500]}")

    def count(self, status: int, mode: str | None = None) -> int:
        return sum(n for (kind, code), n in self.statuses.items() if code == status and mode in (None, kind))


def _fuzz(url: str, token: str | None, ids: list[str], examples: int) -> Run:
    """Every operation of the controller's document, positive and negative cases, all checks.

    With a token, Schemathesis authenticates each case with it (negative cases may still drop it);
    without, it sends none or makes one up."""
    auth = {"auth": {"openapi": {"bearerAuth": {"bearer": token}}}} if token else {}
    schema = schemathesis.openapi.from_url(url + "/api/openapi.json",
                                           config=schemathesis.Config.from_dict({**auth, **CREATE_MAY_REFUSE}))
    run = Run(url, ids, examples)
    for result in schema.exclude(path_regex=STREAMS).get_all_operations():
        run.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run.operation(result.ok(), mode)
    run.session.close()
    print(f"{url}: {run.operations} operations, {run.cases} cases, {len(run.failures)} failing, "
          f"answers {dict(sorted(run.statuses.items()))}")
    assert run.operations > 25
    assert not run.failures, f"{len(run.failures)} failing:\n\n" + "\n\n".join(run.failures)
    return run


def test_open_controller_honours_its_document(controllers):
    controller, _ = controllers["open"]
    run = _fuzz(controller.url, None, REAL_IDS, examples=20)
    assert run.count(401) == 0 and run.count(200) > 0


def test_secured_controller_with_the_admin_token(controllers):
    controller, token = controllers["tokens"]
    run = _fuzz(controller.url, token, REAL_IDS, examples=12)
    assert run.count(401, "positive") == 0 and run.count(200, "positive") > 0  # negative cases may drop the token


def test_secured_controller_without_a_token_answers_401(controllers):
    """Schemathesis sends no token or one it made up: every protected operation answers its documented 401."""
    controller, _ = controllers["tokens"]
    run = _fuzz(controller.url, None, REAL_IDS, examples=6)
    assert run.count(401) > 0
    assert not {code for _, code in run.statuses if 200 <= code < 300} - {200}  # only the open routes answer
    for path in ("/api/tasks", "/api/system/status", "/api/skalds"):
        assert httpx.get(controller.url + path).status_code == 401


def test_malformed_documents_in_the_store(controllers):
    """Planted documents are skipped by lists; asked for by id, they answer 409 (never 500)."""
    controller, _ = controllers["planted"]
    run = _fuzz(controller.url, None, REAL_IDS + PLANTED_IDS, examples=15)
    assert run.count(409) > 0
    for task_id in PLANTED_IDS:
        assert controller.http.get(f"/api/tasks/{task_id}").status_code == 409
        assert controller.http.post(f"/api/tasks/{task_id}/cancel").status_code == 409
    assert controller.http.get("/api/tasks", params={"id": "bad-"}).json()["items"] == []  # skipped, not 500
    problems = {problem["taskId"] for problem in controller.http.get("/api/system/problems").json()["problems"]}
    assert set(PLANTED_IDS) <= problems
