"""When the node writes a task's checkpoint summary (`checkpoint` on the task document).

Every write of a task document is a chance to collide with another writer of it (on FerretDB two updates
of one document at once can lose one), so a task that saves several times a second must not rewrite its
document as often. The first summary of an attempt goes at once (it is what tells the next attempt to look
for a checkpoint); later ones at most once per `every` seconds, the latest, and at once before a release.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUMMARY_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class Summary:
    task_id: str
    attempt: int
    fields: dict[str, int] = field(hash=False)


class SummaryPacer:
    def __init__(self, every: float = SUMMARY_EVERY_SECONDS) -> None:
        self.every = every
        self._sent: dict[str, tuple[int, float]] = {}  # task id -> (attempt, when its last summary went)
        self._held: dict[str, Summary] = {}  # the latest summary of a task, not sent yet

    def written(self, summary: Summary, now: float) -> list[Summary]:
        """A save was stored: its summary, if it may go now."""
        sent = self._sent.get(summary.task_id)
        if sent is None or sent[0] != summary.attempt or now - sent[1] >= self.every:
            self._held.pop(summary.task_id, None)
            self._sent[summary.task_id] = (summary.attempt, now)
            return [summary]
        self._held[summary.task_id] = summary
        return []

    def next_due(self) -> float | None:
        """When the earliest held summary may go (None: none held)."""
        times = [self._sent[task_id][1] + self.every for task_id in self._held]
        return min(times) if times else None

    def due(self, now: float) -> list[Summary]:
        return self.take([task_id for task_id in self._held if self._sent[task_id][1] + self.every <= now], now)

    def take(self, task_ids: list[str], now: float) -> list[Summary]:
        """The held summaries of `task_ids`, sent now whatever the pace (a release waits for them)."""
        taken = [self._held.pop(task_id) for task_id in task_ids if task_id in self._held]
        for summary in taken:
            self._sent[summary.task_id] = (summary.attempt, now)
        return taken

    def forget(self, task_id: str) -> None:
        self._held.pop(task_id, None)
        self._sent.pop(task_id, None)
