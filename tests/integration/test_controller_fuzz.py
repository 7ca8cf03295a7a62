"""Property-based fuzzing of the controller's API from its own OpenAPI schema: zero 5xx."""

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from support.controller import ControllerFactory
from support.services import endpoints

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def fuzzed_controller(tmp_path_factory):
    token = uuid.uuid4().hex[:10]
    names = {"token": token, "topic_prefix": f"t{token}.", "db_name": f"skalds_fuzz_{token}",
             "redis_prefix": f"t{token}:"}
    factory = ControllerFactory(endpoints(), names, tmp_path_factory.mktemp("fuzz"))
    controller = factory.start()
    for index in range(3):  # some tasks so ids and filters hit real documents
        controller.http.post("/api/tasks", json={"id": f"fuzz-{index}", "className": "SleepWorker",
                                                 "attachments": {"seconds": 1}})
    yield controller
    factory.stop_all()
    import pymongo

    pymongo.MongoClient(endpoints().mongo_uri).drop_database(names["db_name"])


@pytest.fixture(scope="module")
def api_schema(fuzzed_controller):
    schema = schemathesis.openapi.from_url(fuzzed_controller.url + "/api/openapi.json")
    return schema.exclude(path_regex=r"^/api/events/(tasks|skalds|test)$")  # endless streams


def test_no_server_errors(api_schema, fuzzed_controller):
    """Every operation, fuzzed from the schema: no response may be a 5xx."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.call_and_validate(base_url=fuzzed_controller.url, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:800]}")
    assert operations > 25
    assert not failures, "\n\n".join(failures)
