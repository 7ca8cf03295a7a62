"""A leader lease in live state: the monitor and dispatcher run only in the lease holder."""

from __future__ import annotations

from skalds.transport.ports import LiveState
from skalds.utils.logging import logger

LEASE_KEY = "skalds:controller:leader"


class LeaderLease:
    def __init__(self, live: LiveState, owner: str, ttl_seconds: float) -> None:
        self.live = live
        self.owner = owner
        self.ttl = ttl_seconds
        self.is_leader = False

    def renew(self) -> bool:
        """Take or keep the lease; call at least every ttl/3 seconds."""
        try:
            held = self.live.acquire_lease(LEASE_KEY, self.owner, self.ttl)
        except Exception as error:
            logger.warning(f"leader lease not renewed (live state unreachable): {error}")
            held = False
        if held != self.is_leader:
            logger.info(f"controller {self.owner} {'is now' if held else 'is no longer'} the leader")
        self.is_leader = held
        return held

    def holder(self) -> str | None:
        try:
            return self.live.get(LEASE_KEY)
        except Exception:
            return None

    def release(self) -> None:
        if self.is_leader:
            try:
                self.live.release_lease(LEASE_KEY, self.owner)
            except Exception as error:
                logger.warning(f"leader lease not released: {error}")
        self.is_leader = False
