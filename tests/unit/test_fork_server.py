"""The worker fork server on its own and under a supervisor (no services): exit codes, its death, its end."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from skalds.config.skald_config import SkaldConfig
from skalds.model.task import Task
from skalds.node.forkserver import ForkServer, ForkServerConfig, ForkServerError, pickle_worker
from skalds.node.supervisor import Supervisor
from skalds.worker.registry import WorkerRegistry
from skalds.worker.runtime import LaunchSettings
from support.cluster import read_records, wait_for
from support.workers import HardExitWorker, SleepModel, SleepWorker

pytestmark = pytest.mark.unit


@pytest.fixture
def fork_server():
    server = ForkServer(ForkServerConfig(modules=["support.workers"]))
    server.start()
    yield server
    server.close()


def started_worker(fork_server, worker_class, record_to, seconds=0.1):
    worker = worker_class(task=Task(id=f"fs-{worker_class.__name__}", class_name=worker_class.__name__, source="t",
                                    attachments=SleepModel()))
    worker._skalds_supervise(None, LaunchSettings(supervised=True),
                             SleepModel(seconds=seconds, record_to=str(record_to)).model_dump(mode="json"))
    process, connection = fork_server.spawn()
    connection.send_bytes(pickle_worker(worker))
    return process, connection


def test_the_fork_server_is_one_thread_and_reports_exit_codes(fork_server, tmp_path):
    assert len(os.listdir(f"/proc/{fork_server.pid}/task")) == 1  # it never forks a process running threads
    finished, connection = started_worker(fork_server, SleepWorker, tmp_path / "a.jsonl")
    hard_exit, other = started_worker(fork_server, HardExitWorker, tmp_path / "b.jsonl")
    finished.join(20)
    hard_exit.join(20)
    assert (finished.exitcode, hard_exit.exitcode) == (0, 7)
    assert [record["event"] for record in read_records(tmp_path / "a.jsonl")][-1] == "release"
    connection.close()
    other.close()


def test_a_signal_is_reported_as_a_negative_exit_code(fork_server, tmp_path):
    process, connection = started_worker(fork_server, SleepWorker, tmp_path / "a.jsonl", seconds=30)
    wait_for(lambda: any(r["event"] == "main" for r in read_records(tmp_path / "a.jsonl")), 20, "main hook")
    os.kill(process.pid, signal.SIGKILL)
    process.join(20)
    assert process.exitcode == -signal.SIGKILL
    connection.close()


def test_a_worker_inherits_none_of_the_fork_servers_descriptors(fork_server, tmp_path):
    process, connection = started_worker(fork_server, SleepWorker, tmp_path / "a.jsonl", seconds=30)
    wait_for(lambda: any(r["event"] == "main" for r in read_records(tmp_path / "a.jsonl")), 20, "main hook")
    targets = [os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{process.pid}/fd")
               if int(fd) > 2]
    own = {target for target in targets if target.startswith("pipe:") and targets.count(target) == 2}  # both
    # ends: the pipe its signal relay made after the fork. Besides, only its end of the supervisor pipe: no control
    # socket, status pipes or epoll of the server
    inherited = [target for target in targets if not target.startswith("/") and target not in own]
    assert len(own) <= 1 and len(inherited) == 1 and inherited[0].startswith("socket:"), targets
    process.kill()
    process.join(20)
    connection.close()


def test_a_child_let_go_before_its_worker_arrives_exits_quietly(fork_server):
    process, connection = fork_server.spawn()
    assert process.is_alive()
    connection.close()
    process.join(20)
    assert process.exitcode == 0


def test_the_fork_server_ends_when_its_node_dies(tmp_path):
    script = tmp_path / "node.py"
    script.write_text(textwrap.dedent("""
        import os, sys
        from skalds.node.forkserver import ForkServer, ForkServerConfig
        server = ForkServer(ForkServerConfig())
        server.start()
        print(server.pid, flush=True)
        os._exit(0)  # no cleanup: as if killed
    """))
    output = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    pid = int(output.stdout.strip())
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), 20, "fork server gone")


def test_a_module_that_fails_to_import_is_reported_and_the_server_still_starts(capfd):
    server = ForkServer(ForkServerConfig(modules=["no_such_module_anywhere"]))
    server.start()
    try:
        assert "could not import worker module 'no_such_module_anywhere'" in capfd.readouterr().err
        process, connection = server.spawn()
        connection.close()
        process.join(20)
        assert process.exitcode == 0
    finally:
        server.close()


def test_spawn_after_close_restarts_the_server(fork_server):
    first = fork_server.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: _is_zombie(first) or not os.path.exists(f"/proc/{first}"), 20, "fork server killed")
    process, connection = fork_server.spawn()
    assert fork_server.pid != first
    connection.close()
    process.join(20)
    assert process.exitcode == 0


def test_a_python_that_cannot_start_the_server_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(ForkServerError, match="did not start"):
        ForkServer(ForkServerConfig()).start()


@pytest.fixture
def supervised(tmp_path):
    """A supervisor without services, and the outcomes it reports, by task id."""
    registry = WorkerRegistry()
    registry.register(SleepWorker)
    supervisor = Supervisor(SkaldConfig(skald_id="fs-test", log_path=str(tmp_path), standby_workers=0),
                            registry, None, None)
    outcomes: dict[str, str] = {}
    ended = threading.Condition()

    def finished(task_id: str, status: str) -> None:
        with ended:
            outcomes[task_id] = status
            ended.notify_all()
    supervisor.on_task_finished = finished
    supervisor.start()
    yield supervisor, outcomes, ended
    server = supervisor._fork_server.pid
    supervisor.stop_all(timeout=10)
    assert server is None or not os.path.exists(f"/proc/{server}") or _is_zombie(server)  # stopped with it


def test_a_task_whose_fork_server_died_before_forking_it_is_started_again(supervised, tmp_path):
    supervisor, outcomes, ended = supervised
    server = supervisor._fork_server.pid
    os.kill(server, signal.SIGSTOP)  # the spawn request waits, unanswered, in the socket
    records = tmp_path / "late.jsonl"
    supervisor.start_task(Task(id="late", class_name="SleepWorker", source="t", attachments=SleepModel()), 1,
                          SleepModel(seconds=0.1, record_to=str(records)).model_dump(mode="json"))
    os.kill(server, signal.SIGKILL)  # dies without having forked it
    with ended:
        assert ended.wait_for(lambda: "late" in outcomes, 30), outcomes
    assert outcomes["late"] == "Finished"
    assert [record["event"] for record in read_records(records)].count("main") == 1  # started once, not twice
    assert supervisor._fork_server.pid not in (None, server)  # by a new fork server


def test_tasks_outlive_their_fork_server_and_the_next_task_gets_a_new_one(supervised, tmp_path):
    supervisor, outcomes, ended = supervised
    records = tmp_path / "long.jsonl"
    supervisor.start_task(Task(id="long", class_name="SleepWorker", source="t", attachments=SleepModel()), 1,
                          SleepModel(seconds=2, record_to=str(records)).model_dump(mode="json"))
    wait_for(lambda: any(r["event"] == "main" for r in read_records(records)), 20, "main hook")
    os.kill(supervisor._fork_server.pid, signal.SIGKILL)  # the worker is orphaned but keeps running
    supervisor.start_task(Task(id="next", class_name="SleepWorker", source="t", attachments=SleepModel()), 1,
                          SleepModel(seconds=0.1).model_dump(mode="json"))
    with ended:
        assert ended.wait_for(lambda: len(outcomes) == 2, 30), outcomes
    assert outcomes == {"long": "Finished", "next": "Finished"}  # "long" reported its outcome on its pipe
    assert [record["event"] for record in read_records(records)][-1] == "release"


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_fork_server_loads_no_service_client_and_nothing_of_the_node_but_its_main():
    probe = ("import sys, skalds.node.forkserver_main, skalds.worker.baseclass\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('confluent_kafka', 'pymongo', 'redis', "
             "'bson', 'dotenv') or m.startswith(('skalds.node.', 'skalds.transport', 'skalds.config'))))")
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert output.stdout.strip() == "['skalds.node.forkserver_main']"
