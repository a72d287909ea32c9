"""Rate limits (votes, logins) counted where every node sees them.

On PostgreSQL each hit is one call of kb_rate_hit (migrations 0008, 0010): it locks the keys, drops
their events older than the window, and counts the new event only if no key is at its limit,
so N nodes together allow the limit, not N times it. A count per key (rate_counts) makes a hit
cost the events it drops plus one lookup, however many events a busy key has in its window. A
login's hit runs outside the writer's batches and its commit does not wait for the disk (a lost
rate-limit event is harmless). A vote's hit is made in the vote's own transaction by the
writer's batch (kb_cast_votes, 0012): no call of its own, and it commits with the vote.

On SQLite the limits stay in memory (kb.ratelimit.RateLimiter): a SQLite file is served by one
`kb serve` process, so memory already counts every request, and a vote costs no extra write.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from kb.ratelimit import RateLimiter
from kb.storage.db import Database

if TYPE_CHECKING:
    from kb.storage.postgres import PostgresBackend


class SharedRateLimiter:
    """kb.ratelimit.RateLimiter's contract (`hit` returns 0 or the seconds to wait; a refused
    event is not counted), kept in the database."""

    def __init__(self, backend: PostgresBackend, bucket: str, limit: int, window_seconds: float) -> None:
        self.backend = backend
        self.bucket = bucket
        self.limit = limit
        self.window = window_seconds

    def keys(self, *keys: str) -> list[str]:
        """The keys as stored: one table holds every bucket's (votes hit them in their own
        transaction instead, kb.storage.votes.cast_many)."""
        return [f"{self.bucket}:{key}" for key in keys]

    async def hit(self, *keys: str) -> int:
        row = await self.backend.call("SELECT kb_rate_hit(?::text[], ?, ?)",
                                      (self.keys(*keys), self.limit, float(self.window)))
        return seconds_to_wait(float(row[0]) if row is not None else 0.0)


def seconds_to_wait(wait: float) -> int:
    """kb_rate_hit's answer as Retry-After: 0 (allowed) or whole seconds, at least 1."""
    return max(1, math.ceil(wait)) if wait > 0 else 0


Limiter = RateLimiter | SharedRateLimiter


def limiter_for(db: Database | None, bucket: str, limit: int, window_seconds: float) -> Limiter:
    """Shared through PostgreSQL, or in this process's memory for SQLite (see the module doc)."""
    if db is not None and db.dialect.name == "postgresql":
        from kb.storage.postgres import PostgresBackend

        assert isinstance(db.backend, PostgresBackend)
        return SharedRateLimiter(db.backend, bucket, limit, window_seconds)
    return RateLimiter(limit, window_seconds)


async def hit(limiter: Limiter, *keys: str) -> int:
    """Count one event for every key: 0 if allowed, else the seconds to wait."""
    if isinstance(limiter, SharedRateLimiter):
        return await limiter.hit(*keys)
    return limiter.hit(*keys)
