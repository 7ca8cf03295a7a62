"""The Skald application: wires configuration -> transports -> supervisor, per mode.

- node: tasks arrive as events (task.assign / cancel / update.attachment / testing) in
  one consumer group named after the node id.
- edge: tasks come from the YAML file at boot; Kafka, Redis and MongoDB are optional.
- single_process: runs the first YAML task and exits with its outcome (Kubernetes Job).

Constructing a Skald has no side effects; `run()` connects, blocks, and shuts down cleanly
on SIGTERM/SIGINT (a second signal exits at once).
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from skalds import telemetry
from skalds.config.skald_config import SkaldConfig
from skalds.node.commands import CommandHandler
from skalds.node.dead_letter import DeadLetters
from skalds.node.events import EventLoop
from skalds.node.reconciler import Reconciler
from skalds.node.recovery import recover_own_tasks
from skalds.node.self_drain import drain_self
from skalds.node.supervisor import Supervisor
from skalds.tasks.feeding_store import FeedingStore, gap_marker
from skalds.transport import factory
from skalds.transport.log_common import LogLimits
from skalds.transport.ports import EventConsumer, EventPublisher, LiveState, MisconfiguredError, TaskLogs, TaskStore
from skalds.transport.retry import wait_for_service
from skalds.transport.wire_names import KafkaTopic
from skalds.utils.logging import configure_logging, logger
from skalds.utils.signal_relay import SignalRelay
from skalds.worker.baseclass import AbstractTaskWorker
from skalds.worker.registry import WorkerRegistry

NODE_TOPICS = (KafkaTopic.TASK_ASSIGN, KafkaTopic.TASK_CANCEL, KafkaTopic.TASK_UPDATE_ATTACHMENT, KafkaTopic.TESTING,
               KafkaTopic.TASK_PAUSE, KafkaTopic.TASK_RESUME, KafkaTopic.TASK_RELEASE)
EDGE_TOPICS = (KafkaTopic.TASK_UPDATE_ATTACHMENT, KafkaTopic.TESTING, KafkaTopic.TASK_CANCEL, KafkaTopic.TASK_PAUSE,
               KafkaTopic.TASK_RESUME)  # the API's requests reach an edge node that has an event connection


class Skald:
    def __init__(self, config: SkaldConfig | None = None) -> None:
        self.config = config or SkaldConfig()
        self.registry = WorkerRegistry()
        self._stop = threading.Event()
        self._drain = threading.Event()  # a node told to stop drains itself first (node/self_drain.py)
        self._signal_relay = SignalRelay(self._on_signal)
        self.exit_code = 0
        self.store: TaskStore | None = None
        self.live: LiveState | None = None
        self.supervisor: Supervisor | None = None
        self._consumer: EventConsumer | None = None
        self._publisher: EventPublisher | None = None  # the dead-letter topic's
        self._consume_thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._started_at = time.monotonic()

    @property
    def skald_id(self) -> str:
        return self.config.skald_id

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until `run()` has connected and started taking work (for embedding and tests)."""
        return self._ready.wait(timeout)

    def register_task_worker(self, worker: type[AbstractTaskWorker[Any]]) -> None:
        """Make a worker class runnable here (by its class name). Call before `run()`. (`worker`: 0.3.8's keyword.)"""
        self.registry.register(worker)

    # --- entry point -------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped; returns (and in single_process mode, is) the process exit status."""
        config = self.config
        configure_logging(level=config.log_level, skald_id=self.skald_id,
                          log_path=config.log_path or None, file_name=self.skald_id,
                          rotation_mb=config.log_rotation_mb, retention=config.log_retention, json=config.log_json)
        telemetry.setup("skalds-node")  # only when OTEL_* variables ask for traces
        logger.block("Configuration", [f"{key}: {value}" for key, value in factory.settings_in_use(config).items()])
        logger.block("Registered TaskWorker classes",
                     [f"{name} -> {self.registry.model_for(name).__name__}" for name in self.registry.names()]
                     or ["(none)"])
        self._install_signal_handlers()
        logger.info(f"transport: {factory.describe(config)}")
        try:
            if config.skald_mode == "node":
                self._run_node()
            elif config.skald_mode == "edge":
                self._run_edge()
            else:
                self._run_single_process()
        except InterruptedError:
            logger.info("stopped before the services were reachable")
        except MisconfiguredError as error:
            logger.error(str(error))
            self.exit_code = 2
        finally:
            self._shutdown()
            telemetry.shutdown()
        return self.exit_code

    # --- wiring --------------------------------------------------------------------------------
    def _connect_store(self, required: bool) -> None:
        """The task store, wrapped so that every change it records is also published on the change feed."""
        store = factory.build_store(self.config)
        name, where = factory.where(self.config, "store")
        try:
            wait_for_service(name, where, store.ensure_indexes, stop=self._stop, deadline=None if required else 10)
        except (InterruptedError, MisconfiguredError):
            raise
        except Exception as error:
            logger.error(f"{name} unreachable, tasks run without being recorded: {error}")
            return
        changes = factory.topic_name(self.config, KafkaTopic.TASK_CHANGES)
        self.store = FeedingStore(store, factory.build_publisher(self.config), changes, self.skald_id,
                                  on_gap=lambda: gap_marker(self.live)())

    def _connect_live(self, required: bool) -> None:
        live = factory.build_live(self.config)
        name, where = factory.where(self.config, "live")
        try:
            wait_for_service(name, where, live.ping, stop=self._stop, deadline=None if required else 10)
        except (InterruptedError, MisconfiguredError):
            raise
        except Exception as error:
            logger.error(f"{name} unreachable, heartbeats are not written until it is back: {error}")
        self.live = live

    def _task_logs(self) -> TaskLogs | None:
        """Where workers' lines are kept: none for an edge node without Redis (its own log still has them)."""
        config = self.config
        if not factory.is_embedded(config) and not config.redis_host:
            return None
        return factory.build_logs(config, LogLimits(config.task_log_max_lines, config.task_log_max_bytes,
                                                    config.task_log_ttl_seconds))

    def _make_supervisor(self) -> Supervisor:
        self.supervisor = Supervisor(self.config, self.registry, self.store, self.live, self._task_logs())
        return self.supervisor

    def _start_consumer(self, topics: tuple[str, ...], handler: CommandHandler, required: bool,
                        reconciler: Reconciler | None = None) -> bool:
        """Consume `topics` on the events thread (the reconciler runs between polls); False if the event
        bus is unreachable and not required (no events thread then)."""
        config = self.config
        name, where = factory.where(config, "events")
        try:
            wait_for_service(name, where, lambda: factory.check_events(config), stop=self._stop,
                             deadline=None if required else 10)
        except (InterruptedError, MisconfiguredError):
            raise
        except Exception as error:
            logger.error(f"{name} unreachable, no events are received: {error}")
            self._ready.set()
            return False
        names = [factory.topic_name(config, topic) for topic in topics]
        dead_letter_topic = factory.topic_name(config, KafkaTopic.DEAD_LETTER)
        factory.prepare_topics(config, [*names, dead_letter_topic, factory.topic_name(config, KafkaTopic.TASK_CHANGES)])
        assigned = threading.Event()

        def on_assigned(topics: list[str]) -> None:
            if set(names) <= set(topics):
                assigned.set()
            else:
                logger.debug(f"partial assignment {topics}; waiting for all of {names}")

        self._consumer = factory.build_consumer(config, self.skald_id, names, on_assigned=on_assigned)
        self._publisher = factory.build_publisher(config)
        loop = EventLoop(self._consumer, handler, self._stop, max_attempts=config.event_max_attempts,
                         dead_letters=DeadLetters(self._publisher, dead_letter_topic, self.skald_id),
                         between=reconciler.maybe_run if reconciler else None,
                         after_outage=reconciler.soon if reconciler else None)
        self._consume_thread = threading.Thread(target=loop.run, name="skalds-events", daemon=True)
        self._consume_thread.start()
        while not assigned.wait(0.2):
            if self._stop.is_set():
                return True
        logger.info(f"consuming {', '.join(names)} as group {self.skald_id}")
        return True

    # --- modes ---------------------------------------------------------------------------------
    def _run_node(self) -> None:
        self._connect_store(required=True)
        self._connect_live(required=True)
        supervisor = self._make_supervisor()
        handler = CommandHandler(self.skald_id, supervisor, self.store, self.config.kafka_topic_prefix)
        supervisor.start()
        supervisor.restart_fenced_with(handler.start_document)
        if self.store is not None:
            recover_own_tasks(self.store, self.skald_id, handler, self.config.fence_seconds, self._started_at,
                              self._stop)
        reconciler = Reconciler(handler, self.config.reconcile_seconds())
        self._start_consumer(NODE_TOPICS, handler, required=True, reconciler=reconciler)
        supervisor.announce_requests("events")
        supervisor.start_pulse()
        self._ready.set()
        logger.success(f"Skald node {self.skald_id} ready with {len(self.registry.names())} worker class(es)")
        while not self._stop.wait(0.2):
            if self._drain.is_set():
                drain_self(supervisor, self.config.shutdown_drain_seconds, self.config.drain_parallelism, self._stop)
                break

    def _run_edge(self) -> None:
        config = self.config
        if config.mongo_host:
            self._connect_store(required=False)
        if config.redis_host:
            self._connect_live(required=False)
        supervisor = self._make_supervisor()
        supervisor.start()
        handler = CommandHandler(self.skald_id, supervisor, self.store, config.kafka_topic_prefix,
                                 accept_assign=False)
        if config.yaml_file:
            from skalds.node.edge import start_yaml_tasks  # loads the YAML parser: edge and single_process only

            start_yaml_tasks(config.yaml_file, supervisor, self.store, self.skald_id)
        # Requests stored for its tasks (cancel, pause, resume, update) land even when their event is lost,
        # or when there is no event bus at all.
        reconciler = Reconciler(handler, config.reconcile_seconds(), starts=False) if self.store else None
        consuming = bool(config.kafka_host) and self._start_consumer(EDGE_TOPICS, handler, required=False,
                                                                     reconciler=reconciler)
        if reconciler is not None and not consuming:
            threading.Thread(target=reconciler.run, args=(self._stop,), name="skalds-reconcile", daemon=True).start()
        supervisor.announce_requests("events" if consuming else "store" if reconciler is not None else "none")
        supervisor.start_pulse()
        self._ready.set()
        logger.success(f"Skald edge {self.skald_id} ready")
        self._stop.wait()

    def _run_single_process(self) -> None:
        from skalds.node.single_process import run_single_task
        from skalds.node.yaml_tasks import YamlTaskError, read_yaml_tasks

        try:
            entry = read_yaml_tasks(self.config.yaml_file)[0]
        except YamlTaskError as error:
            raise MisconfiguredError(str(error)) from error
        if self.config.redis_host:
            self._connect_live(required=False)
        self.exit_code = int(run_single_task(self._make_supervisor(), entry, self._stop, self._ready))

    # --- signals and shutdown ------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        self._signal_relay.install()  # not in an embedding thread: Python allows handlers in the main one only

    def _on_signal(self, signum: int) -> None:
        """Runs on the relay's thread, so it may log and take locks (see `utils/signal_relay`)."""
        if self.config.skald_mode == "node" and self.config.shutdown_drain_seconds > 0 and self._ready.is_set():
            self._drain.set()  # the node's main loop drains it, then stops
        else:
            self._stop.set()
        logger.info(f"signal {signal.Signals(signum).name}: shutting down (send again to exit at once)")

    def stop(self) -> None:
        """Ask a running Skald to shut down (same as SIGTERM)."""
        self._stop.set()

    def _shutdown(self) -> None:
        self._stop.set()
        if self._consume_thread is not None:
            self._consume_thread.join(timeout=30)
        if self._consumer is not None:
            self._consumer.close()
        if self._publisher is not None:
            self._publisher.close()
        if self.supervisor is not None:
            self.supervisor.stop_all("shutdown")
            if self.config.skald_mode != "single_process":
                self.supervisor.deregister()
        if isinstance(self.store, FeedingStore):
            self.store.publisher.close()  # the last statuses' change messages go out before the process ends
        if self.live is not None:
            self.live.close()
        logger.info(f"Skald {self.skald_id} stopped")


Skalds = Skald
