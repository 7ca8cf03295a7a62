"""Each task's latest progress and a short series of it, in the controller's memory.

Fed by the monitor's task check, which reads `task:{id}:progress` in the same round trip as the
heartbeats: a point is added when the node wrote a newer report (its `at`), so the series has at most
one point per task check. Bounded three ways: points older than the window go, at most `max_points`
per task, at most `max_tasks` tasks (the one updated longest ago goes first). A task that left the
active set is read a few cycles more (`TRAIL_CYCLES`), so the report its worker made just before the
end is kept. A controller that restarts starts its series empty.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from skalds.config.system_controller_config import SystemControllerConfig
from skalds.model.progress import decode

TRAIL_CYCLES = 3


@dataclass(frozen=True)
class SeriesLimits:
    window_seconds: float = 3600.0  # points older than this go
    max_points: int = 720  # per task: an hour at the default heartbeat, reported every 5 s
    max_tasks: int = 1000

    @classmethod
    def of(cls, config: SystemControllerConfig) -> SeriesLimits:
        """The controller's settings (TASK_PROGRESS_*)."""
        return cls(config.task_progress_window_seconds, config.task_progress_max_points,
                   config.task_progress_max_tasks)


@dataclass
class _Track:
    class_name: str
    latest: dict[str, Any]
    points: deque[dict[str, Any]] = field(default_factory=deque)
    live: bool = True  # its key was there on the last read


class ProgressSeries:
    def __init__(self, limits: SeriesLimits | None = None) -> None:
        self.limits = limits or SeriesLimits()
        self._tracks: OrderedDict[str, _Track] = OrderedDict()
        self._trailing: dict[str, int] = {}  # left the active set: reads left
        self._last_active: set[str] = set()
        self._lock = threading.Lock()

    def also_read(self, active: Iterable[str]) -> list[str]:
        """The tasks to read besides the active ones: those that left it in the last few cycles."""
        current = set(active)
        with self._lock:
            for gone in self._last_active - current:
                self._trailing[gone] = TRAIL_CYCLES
            for back in current & set(self._trailing):
                del self._trailing[back]
            self._last_active = current
            extra = list(self._trailing)
            for task_id in extra:
                self._trailing[task_id] -= 1
                if self._trailing[task_id] <= 0:
                    del self._trailing[task_id]
        return extra

    def observe(self, raw: Mapping[str, str | None], classes: Mapping[str, str], now_ms: int) -> None:
        """The values read this cycle (None: no key), with the class of each active task; a task not read
        is over and leaves `live`."""
        oldest = now_ms - int(self.limits.window_seconds * 1000)
        with self._lock:
            for task_id, track in self._tracks.items():
                if task_id not in raw:
                    track.live = False  # not read any more: its task is over
            for task_id, value in raw.items():
                sample = decode(value)
                track = self._tracks.get(task_id)
                if sample is None:
                    if track is not None:
                        track.live = False
                    continue
                if track is None:
                    track = self._tracks[task_id] = _Track(classes.get(task_id, ""), sample)
                elif classes.get(task_id):
                    track.class_name = classes[task_id]
                track.live = True
                if not track.points or sample["at"] != track.latest["at"]:
                    self._add(task_id, track, sample)
                while track.points and track.points[0]["at"] < oldest:
                    track.points.popleft()
            while len(self._tracks) > self.limits.max_tasks:
                self._tracks.popitem(last=False)

    def _add(self, task_id: str, track: _Track, sample: dict[str, Any]) -> None:
        track.latest = sample
        if track.points and track.points[-1]["at"] == sample["at"]:
            return
        track.points.append({"at": sample["at"], "attempt": sample["attempt"], "fraction": sample["fraction"],
                             "metrics": sample["metrics"]})
        while len(track.points) > self.limits.max_points:
            track.points.popleft()
        self._tracks.move_to_end(task_id)

    def latest(self, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            track = self._tracks.get(task_id)
            return dict(track.latest) if track is not None else None

    def series(self, task_id: str) -> list[dict[str, Any]]:
        with self._lock:
            track = self._tracks.get(task_id)
            return list(track.points) if track is not None else []

    def live(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(task, class, latest) of every task whose node still writes its progress, by task id."""
        with self._lock:
            found = [(task_id, track.class_name, track.latest) for task_id, track in self._tracks.items()
                     if track.live]
        return sorted(found)
