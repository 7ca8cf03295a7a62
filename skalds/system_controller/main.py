"""`python -m skalds.system_controller.main`: the System Controller process.

Modes (SYSTEM_CONTROLLER_MODE, case-insensitive): CONTROLLER (API only), MONITOR (+ node
and task monitoring), DISPATCHER (+ assignment). Monitor and dispatcher act only while
this controller holds the leader lease, so a second controller is a hot standby; the API
answers on every controller.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

import uvicorn

from skalds import telemetry
from skalds.config.system_controller_config import SystemControllerConfig
from skalds.system_controller.api.app import create_app
from skalds.system_controller.api.context import ApiContext
from skalds.system_controller.dashboard.timeline import StatusTimeline
from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.drain import DrainReconciler
from skalds.system_controller.drain_desk import DrainDesk
from skalds.system_controller.feed_follower import FeedFollower
from skalds.system_controller.hub import EventHub
from skalds.system_controller.leader import LeaderLease
from skalds.system_controller.listeners import NO_DISPATCH, DispatchInbox, DispatchListener
from skalds.system_controller.live_view import LiveView
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.monitor import Monitor
from skalds.system_controller.policy import edge_reach
from skalds.system_controller.policy.cadence import Cadence
from skalds.system_controller.policy.verdicts import LostLimits
from skalds.system_controller.progress_series import ProgressSeries, SeriesLimits
from skalds.system_controller.retention_job import RetentionJob
from skalds.system_controller.store_metrics import CountingStore
from skalds.system_controller.task_counters import TaskCounters
from skalds.system_controller.task_gauges import TaskGauges
from skalds.system_controller.task_service import TaskService
from skalds.system_controller.worker_updates import WORKER_UPDATES_GROUP, WorkerUpdates
from skalds.tasks.feeding_store import FeedingStore, gap_marker
from skalds.transport import factory
from skalds.transport.ports import EventConsumer, LiveState, MisconfiguredError, TaskStore
from skalds.transport.retry import wait_for_service
from skalds.transport.wire_names import KafkaTopic
from skalds.utils.logging import configure_logging, logger
from skalds.utils.signal_relay import SignalRelay

FEED_GROUP = "skalds-controller-feed"


class UnsafeConfigurationError(RuntimeError):
    """The controller would expose an open API on the network."""


def is_loopback(host: str) -> bool:
    """Only a loopback address keeps the API off the network; "" and wildcards bind every interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SystemController:
    _instance: SystemController | None = None

    def __init__(self, config: SystemControllerConfig | None = None) -> None:
        self.config = config or SystemControllerConfig()
        self.controller_id = self.config.controller_id or f"{socket.gethostname()}-{os.getpid()}-" \
                                                          f"{uuid.uuid4().hex[:4]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: uvicorn.Server | None = None
        self.context: ApiContext | None = None
        self.follower: FeedFollower | None = None
        self.retention: RetentionJob | None = None
        self.drain: DrainReconciler | None = None
        SystemController._instance = self

    # --- wiring ----------------------------------------------------------------------------------
    def check_security(self) -> None:
        config = self.config
        if not is_loopback(config.system_controller_host) and not (config.admin_tokens() or config.read_tokens()) \
                and not config.api_allow_open:
            raise UnsafeConfigurationError(
                f"refusing to serve an open API on {config.system_controller_host}: set API_ADMIN_TOKENS "
                "(and API_READ_TOKENS), or API_ALLOW_OPEN=true to run without authentication on purpose")

    def build(self) -> ApiContext:
        """The wiring diagram: every part gets its collaborators here, in its constructor.

        A dispatching controller's inbox is the listener the task service (a task became Created)
        and the monitor (work waiting, capacity freed, a failure, tasks ended) tell; other modes
        get NO_DISPATCH. The dispatcher reads the monitor's view of nodes and live tasks."""
        config = self.config
        self.check_security()
        metrics = ControllerMetrics()
        raw_store, live = self._connect()
        raw_store = CountingStore(raw_store, metrics.store_operations)
        hub = EventHub()
        inbox = DispatchInbox() if config.runs_dispatcher else None
        listener: DispatchListener = inbox or NO_DISPATCH
        publisher = factory.build_publisher(config)
        changes = factory.topic_name(config, KafkaTopic.TASK_CHANGES)
        store = FeedingStore(raw_store, publisher, changes, self.controller_id, on_gap=gap_marker(live))
        view = LiveView()
        timeline = StatusTimeline(view.checked_counts)
        self.retention = RetentionJob(store, config.task_retention_days) if config.task_retention_days > 0 else None
        counters = TaskCounters(metrics.registry, view.class_of)
        observers = [timeline.observe, counters.observe]
        observers += [self.retention.observe] if self.retention is not None else []
        self.follower = FeedFollower(store, view, hub, listener, self._feed_consumer, live, self._stop,
                                     observers=observers, on_rebuild=metrics.feed_rebuilds.inc,
                                     audit_seconds=config.view_audit_seconds)
        service = TaskService(store, publisher, config.kafka_topic_prefix, listener=listener, on_created=view.created)
        monitor = Monitor(service, live, hub, metrics, view=view, refresher=self.follower, listener=listener,
                          limits=LostLimits(config.monitor_heartbeat_timeout, config.assign_timeout,
                                            config.fence_margin_seconds),
                          cadence=Cadence(config.monitor_skald_interval, config.monitor_task_interval),
                          progress=ProgressSeries(SeriesLimits.of(config)))
        metrics.registry.register(TaskGauges(monitor.progress, view, config.metrics_max_tasks))
        service.unreachable = lambda document: edge_reach.unreachable(
            document, monitor.nodes().get(str(document.get("executor") or "")))
        lease = LeaderLease(live, self.controller_id, config.leader_lease_seconds) if config.runs_monitor else None
        drains = DrainDesk(factory.build_node_desires(config), live, audit_seconds=config.view_audit_seconds or 30.0)
        self.drain = DrainReconciler(drains, monitor.active_tasks, publisher, config.kafka_topic_prefix,
                                     config.drain_parallelism)
        dispatcher = None
        if inbox is not None:
            dispatcher = Dispatcher(service, monitor, inbox, metrics, strategy=config.dispatcher_strategy,
                                    default_capacity=config.max_tasks_per_node,
                                    retry_backoff_seconds=config.retry_backoff_seconds,
                                    view_period=config.monitor_task_interval, should_stop=self._stop.is_set,
                                    unschedulable=drains.unschedulable)
        self.context = ApiContext(config=config, service=service, live=live, hub=hub, metrics=metrics, view=view,
                                  timeline=timeline, monitor=monitor, dispatcher=dispatcher, lease=lease,
                                  logs=factory.build_logs(config), drains=drains)
        return self.context

    def _feed_consumer(self, on_assigned: Callable[[list[str]], None]) -> EventConsumer:
        """A consumer of the change feed of its own (every controller reads every change), from the end."""
        config = self.config
        topic = factory.topic_name(config, KafkaTopic.TASK_CHANGES)
        factory.prepare_topics(config, [topic])
        group = factory.topic_name(config, f"{FEED_GROUP}-{self.controller_id}")
        return factory.build_consumer(config, group, [topic], on_assigned=on_assigned)

    def _connect(self) -> tuple[TaskStore, LiveState]:
        """The task store and live state, once they and the events port answer (waits, as nodes do)."""
        config = self.config
        logger.info(f"transport: {factory.describe(config)}")
        store = factory.build_store(config)
        wait_for_service(*factory.where(config, "store"), store.ensure_indexes, stop=self._stop)
        live = factory.build_live(config)
        wait_for_service(*factory.where(config, "live"), live.ping, stop=self._stop)
        wait_for_service(*factory.where(config, "events"), lambda: factory.check_events(config), stop=self._stop)
        return store, live

    # --- background loops --------------------------------------------------------------------------
    def _loop(self, name: str, period: float, step: Any, wake: threading.Event | None = None,
              wait_for: Any = None) -> None:
        """Run `step` every `period` seconds (or `wait_for(period)`), at once when `wake` is set."""
        def run() -> None:
            while not self._stop.is_set():
                if wake is not None:
                    wake.clear()  # work arriving while `step` runs sets it again: nothing is missed
                try:
                    step()
                except Exception as error:
                    logger.warning(f"{name} cycle failed: {type(error).__name__}: {error}")
                if wake is not None:
                    wake.wait(wait_for(period) if wait_for is not None else period)
                else:
                    self._stop.wait(period)
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start_background(self) -> None:
        context = self.context
        assert context is not None and context.monitor is not None
        monitor, lease, dispatcher = context.monitor, context.lease, context.dispatcher
        assert self.follower is not None
        follower = threading.Thread(target=self.follower.run, name="skalds-change-feed", daemon=True)
        follower.start()
        self._threads.append(follower)

        def monitor_step() -> None:
            was_leader = lease.is_leader if lease is not None else False
            leader = lease.renew() if lease is not None else False
            context.metrics.is_leader.set(1 if leader else 0)
            if leader and not was_leader:
                monitor.took_the_lead()
            monitor.cycle(leader=leader)
            if dispatcher is not None and leader and not was_leader:
                dispatcher.wake()  # a new leader looks for waiting work at once

        self._loop("skalds-monitor", monitor.cadence.period, monitor_step)
        if dispatcher is not None:
            def dispatch_step() -> None:
                if lease is not None and lease.is_leader:
                    dispatcher.dispatch_once()
            self._loop("skalds-dispatcher", self.config.dispatcher_interval, dispatch_step, dispatcher.wakeup,
                       dispatcher.seconds_until_due)

        if self.drain is not None and lease is not None:
            drain = self.drain
            self._loop("skalds-drain", self.config.drain_interval, lambda: drain.step(lease.is_leader))
        if self.retention is not None and lease is not None:
            job = self.retention
            self._loop("skalds-retention", self.config.retention_interval, lambda: job.step(lease.is_leader))

    def start_worker_updates(self) -> None:
        """0.3.8 scripts' `taskworker.update` events become attachment updates (see worker_updates.py)."""
        config, context = self.config, self.context
        assert context is not None
        if factory.is_embedded(config):
            return  # 0.3.8 producers only write to Kafka
        topic = factory.topic_name(config, KafkaTopic.TASK_WORKER_UPDATE)
        group = factory.topic_name(config, WORKER_UPDATES_GROUP)
        try:
            factory.prepare_topics(config, [topic])
            consumer = factory.build_consumer(
                config, group, [topic], on_assigned=lambda _topics: logger.info(f"consuming {topic} as group {group}"))
        except Exception as error:  # the API still serves; only 0.3.8's direct worker updates wait
            logger.error(f"not consuming {topic}: {type(error).__name__}: {error}")
            return
        updates = WorkerUpdates(context.service, consumer, self._stop)
        thread = threading.Thread(target=updates.run, name="skalds-worker-updates", daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- run -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start serving (for embedding in an existing event loop)."""
        context = self.build()
        self.start_background()
        self.start_worker_updates()
        app = create_app(context)
        self._server = uvicorn.Server(uvicorn.Config(app, host=self.config.system_controller_host,
                                                     port=self.config.system_controller_port, log_level="warning",
                                                     access_log=False))
        announce = asyncio.create_task(self._announce_when_serving())
        try:
            await self._server.serve()
        finally:
            announce.cancel()

    async def _announce_when_serving(self) -> None:
        """Say "on http://..." only once the socket accepts connections (scripts wait for that line)."""
        while self._server is not None and not self._server.started:
            await asyncio.sleep(0.02)
        logger.success(f"System Controller {self.controller_id} ({self.config.system_controller_mode}) on "
                       f"http://{self.config.system_controller_host}:{self.config.system_controller_port}")

    async def stop(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True
        if self.context is not None and self.context.dispatcher is not None:
            self.context.dispatcher.wake()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.context is not None and self.context.lease is not None:
            self.context.lease.release()

    def is_running(self) -> bool:
        return self._server is not None and self._server.started and not self._stop.is_set()

    def get_status(self) -> dict[str, Any]:
        return {"controllerId": self.controller_id, "mode": self.config.system_controller_mode,
                "running": self.is_running(),
                "leader": bool(self.context and self.context.lease and self.context.lease.is_leader)}

    def run(self) -> int:
        configure_logging(level=self.config.log_level, skald_id=f"controller:{self.controller_id}",
                          log_path=self.config.log_path or None, file_name="SystemController")
        telemetry.setup("skalds-controller")  # only when OTEL_* variables ask for traces
        logger.block("System Controller configuration",
                     [f"{key}: {value}" for key, value in factory.settings_in_use(self.config).items()])
        def on_signal(signum: int) -> None:  # on the signal relay's thread, not inside the event loop
            logger.info(f"signal {signal.Signals(signum).name}: stopping the controller")
            self.shutdown()

        SignalRelay(on_signal).install()
        try:
            asyncio.run(self.start())
        except (UnsafeConfigurationError, MisconfiguredError) as error:
            logger.error(str(error))
            return 2
        except InterruptedError:
            return 0
        finally:
            self.shutdown()
            telemetry.shutdown()
        logger.info("System Controller stopped")
        return 0


def main(config: SystemControllerConfig | None = None) -> int:
    return SystemController(config).run()


if __name__ == "__main__":
    raise SystemExit(main())

