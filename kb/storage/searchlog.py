"""SQL of the search area: the searches and search_clicks tables (0003_search_log.sql).

Both are written with Database.write_later (batched, off the request path). A search's id is
issued here rather than by SQLite, so the result links of a page can name their search before
the batch that records it has been committed.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass

from kb.storage.db import Conn, Database, WriteOp

_counter = itertools.count()
_counter_lock = threading.Lock()
_PROCESS_SALT = int.from_bytes(os.urandom(1), "big")


def new_search_id() -> int:
    """Unique within a process and unlikely to collide across processes: the time in
    milliseconds, then 8 bits of a counter and 8 random bits of the process (about 2**57)."""
    with _counter_lock:
        count = next(_counter) & 0xFF
    return (time.time_ns() // 1_000_000) << 16 | count << 8 | _PROCESS_SALT


@dataclass(frozen=True)
class SearchRow:
    id: int
    query: str
    lang: str
    category: str | None
    type: str | None
    results: int
    took_ms: float
    visitor: str
    created_at: str


@dataclass(frozen=True)
class ClickRow:
    id: int
    search_id: int | None
    query: str
    lang: str
    article_id: int
    rank: int
    visitor: str
    created_at: str


def record_search(search_id: int, query: str, lang: str, category: str | None, type: str | None,
                  results: int, took_ms: float, visitor: str) -> WriteOp[None]:
    async def op(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO searches (id, query, lang, category, type, results, took_ms, visitor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (search_id, query, lang, category, type, results, took_ms, visitor))

    return op


def record_click(search_id: int, lang: str, article_id: int, rank: int, visitor: str) -> WriteOp[None]:
    """A click on a result, written only when `search_id` is a search of the same visitor in the
    same language, and only the first time that search's result is opened: forged or replayed
    links count nothing, so click-through cannot exceed the searches it is a share of.

    The query is the search's own, not the link's. The writer runs ops in order, so the search
    queued by the results page is written before a click on one of its links.
    """

    async def op(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor) "
            "SELECT id, query, lang, ?, ?, visitor FROM searches WHERE id = ? AND visitor = ? AND lang = ? "
            "ON CONFLICT DO NOTHING",
            (article_id, rank, search_id, visitor, lang))

    return op


async def recent_searches(db: Database, limit: int = 100) -> list[SearchRow]:
    rows = await db.fetch_all(
        "SELECT id, query, lang, category, type, results, took_ms, visitor, created_at "
        "FROM searches ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))
    return [SearchRow(*row) for row in rows]


async def recent_clicks(db: Database, limit: int = 100) -> list[ClickRow]:
    rows = await db.fetch_all(
        "SELECT id, search_id, query, lang, article_id, rank, visitor, created_at "
        "FROM search_clicks ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))
    return [ClickRow(*row) for row in rows]
