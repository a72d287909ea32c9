"""In-process sliding-window rate limits (votes, logins, search result clicks).

Each web process counts on its own: behind N processes the effective limit is N times the
setting, which is the accepted trade-off for keeping processes stateless.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, *keys: str) -> int:
        """Count one event for every key; return 0 if allowed, else seconds to wait.

        A refused event is not counted, so a client that waits is let in again.
        """
        now = self.clock()
        wait = 0.0
        for key in keys:
            hits = self._prune(key, now)
            if len(hits) >= self.limit:
                wait = max(wait, hits[0] + self.window - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for key in keys:
            self._hits.setdefault(key, deque()).append(now)
        if len(self._hits) > 100_000:  # keep memory bounded under a flood of distinct keys
            self._sweep(now)
        return 0

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        for key in list(self._hits):
            if not self._prune(key, now):
                del self._hits[key]


CLICKS_PER_VISITOR = 60  # a minute; a reader opens far fewer search results than this
CLICKS_PER_ADDRESS = 600


class ClickLimits:
    """Search result clicks recorded per visitor and per client address and minute.
    Many readers can share one address (an office), hence its higher limit."""

    def __init__(self, per_visitor: int = CLICKS_PER_VISITOR, per_address: int = CLICKS_PER_ADDRESS) -> None:
        self.visitors = RateLimiter(per_visitor, 60.0)
        self.addresses = RateLimiter(per_address, 60.0)

    def allow(self, visitor: str, address: str | None) -> bool:
        if address and self.addresses.hit(f"address:{address}"):
            return False
        return not self.visitors.hit(f"visitor:{visitor}")
