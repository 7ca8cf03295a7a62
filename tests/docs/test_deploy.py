"""deploy/: Kubernetes manifests valid against the official schemas, a compose file that parses, and every
command and setting in them accepted by the real `skalds` command and configuration models."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.main import get_command

from skalds.cli.main import app
from skalds.config.skald_config import SkaldConfig
from skalds.config.system_controller_config import SystemControllerConfig

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSIONS = ("1.29.0", "1.33.0")  # the oldest we support and a recent one
PROJECT_IMAGE = re.compile(r"^skalds:\d+\.\d+\.\d+$")
# Variables read by the command itself rather than by a configuration model.
CLI_VARIABLES = {"SKALDS_WORKERS", "YAML_FILE", "SKALDS_URL", "SKALDS_TOKEN"}
CONFIG_VARIABLES = {name.upper() for model in (SkaldConfig, SystemControllerConfig) for name in model.model_fields}


def documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def parse_command(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse `skalds ARGS` exactly as the real command would, without running it: (command path, params)."""
    command: Any = get_command(app)
    context = command.make_context("skalds", list(args))
    path = ["skalds"]
    while hasattr(command, "resolve_command"):  # a group (typer's own click-compatible classes)
        rest = [*context._protected_args, *context.args]
        name, command, rest = command.resolve_command(context, rest)
        path.append(name)
        context = command.make_context(name, rest, parent=context)
    return " ".join(path), context.params


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return pod.get("containers", [])


def test_there_are_manifests_for_controller_node_and_job():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in documents()}
    assert {("Deployment", "skalds-controller"), ("Service", "skalds-controller"), ("Deployment", "skalds-node"),
            ("Job", "skalds-nightly-report")} <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version):
    for path, doc in documents():
        kubernetes_validate.validate(doc, version, strict=True)  # raises with the path of the bad field
        assert path.name


def test_the_schema_check_catches_mistakes():
    """The validator is not a no-op: a misspelt field and a wrong type are both refused."""
    deployment = next(doc for _, doc in documents() if doc["kind"] == "Deployment")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["contaners"] = misspelt["spec"]["template"]["spec"].pop("containers")
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_kubernetes_containers_run_real_skalds_commands_with_known_settings():
    config_keys = {key for _, doc in documents() if doc["kind"] in ("ConfigMap", "Secret")
                   and doc["metadata"]["name"].startswith("skalds-") and doc["metadata"]["name"] != "skalds-job-task"
                   for key in {**doc.get("data", {}), **doc.get("stringData", {})}}
    assert config_keys and config_keys <= CONFIG_VARIABLES, config_keys - CONFIG_VARIABLES
    seen = set()
    for _, doc in documents():
        for container in containers(doc):
            assert PROJECT_IMAGE.match(container["image"]), container["image"]
            name, _ = parse_command(container.get("command", [])[1:] + container["args"])
            seen.add(name)
            names = {variable["name"] for variable in container.get("env", [])}
            assert names <= CONFIG_VARIABLES | CLI_VARIABLES, names - CONFIG_VARIABLES - CLI_VARIABLES
    assert seen == {"skalds controller", "skalds node", "skalds single"}


def test_job_task_file_is_mounted_where_the_command_reads_it():
    config_map = next(doc for _, doc in documents() if doc["metadata"]["name"] == "skalds-job-task")
    job = next(doc for _, doc in documents() if doc["kind"] == "Job")
    container = containers(job)[0]
    _, params = parse_command(container["args"])
    mount = next(m for m in container["volumeMounts"] if m["name"] == "task")["mountPath"]
    assert str(params["yaml"]) == f"{mount}/task.yml"
    tasks = yaml.safe_load(config_map["data"]["task.yml"])["TaskWorkers"]
    assert [task["className"] for task in tasks.values()] == ["DemoWorker"]
    assert params["worker"] == ["skalds.examples.demo_worker:DemoWorker"]


def test_compose_file_has_the_services_and_runs_real_commands():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"kafka", "mongodb", "redis", "controller", "node"}
    for name in ("kafka", "mongodb", "redis"):
        image = services[name]["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest" and repository in ("apache/kafka", "mongo", "redis"), image
        assert "healthcheck" in services[name]
    build = services["controller"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    for name in ("controller", "node"):
        service = services[name]
        assert PROJECT_IMAGE.match(service["image"]), service["image"]
        command, _ = parse_command(service["command"])
        assert command == f"skalds {name}"
        variables = set(service["environment"])
        assert variables <= CONFIG_VARIABLES, variables - CONFIG_VARIABLES
        assert {"KAFKA_HOST", "MONGO_HOST", "REDIS_HOST"} <= variables  # real services, never the embedded file
        hosts = (service["environment"]["KAFKA_HOST"], service["environment"]["REDIS_HOST"])
        assert hosts == ("kafka", "redis")


def test_the_image_is_the_same_everywhere_and_the_dockerfile_builds_from_real_paths():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile copies {source}, which does not exist"
    assert 'ENTRYPOINT ["skalds"]' in dockerfile
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["skalds"] == "skalds.cli.main:main"
    images = {match for path in [*MANIFESTS, DEPLOY / "compose.yaml"]
              for match in re.findall(r"image: (skalds:\S+)", path.read_text())}
    built = set(re.findall(r"-t (skalds:\S+)", dockerfile))
    assert len(images) == 1 and images == built, (images, built)


def test_the_command_check_catches_mistakes():
    for bad in (["node", "--wroker", "a:B"], ["controler"], ["node", "--kafka-port", "many"]):
        with pytest.raises(Exception) as error:
            parse_command(bad)
        assert type(error.value).__name__ in ("NoSuchOption", "UsageError", "BadParameter"), repr(error.value)
