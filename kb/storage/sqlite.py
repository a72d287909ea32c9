"""SQLite through aiosqlite: WAL with synchronous=FULL, one writer connection, three read-only
readers, migrations by `PRAGMA user_version`. Notifications stay inside the process (one
SQLite file is served by one process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import aiosqlite

from kb.errors import ConfigError
from kb.storage.base import (
    Conn,
    DatabaseUnavailable,
    Row,
    Subscription,
    broken,
    busy,
    migrations,
    split_statements,
)
from kb.storage.dialect import SQLITE, Dialect

log = logging.getLogger("kb.db")

BUSY_TIMEOUT_MS = 10_000
READERS = 3
# SQLite result codes that mean the database, not one write, cannot take writes now.
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_BROKEN_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
                 sqlite3.SQLITE_PERM}


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 that `exc` stands for, or None when it is a fault of one write (or a bug)."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    if code is None:
        return None
    if code & 0xFF in _BUSY_CODES:
        return busy()
    if code & 0xFF in _BROKEN_CODES:
        return broken()
    return None


class SQLiteConn:
    """A write op's view of the writer connection (kb.storage.base.Conn)."""

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self.raw = raw

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.raw.execute(sql, tuple(params))
        return cursor.rowcount

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        await self.raw.executemany(sql, [tuple(p) for p in params])

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return cast(list[Row], list(await self.raw.execute_fetchall(sql, tuple(params))))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")


class SQLiteBackend:
    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._listeners: dict[str, set[asyncio.Queue[str]]] = {}

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = await aiosqlite.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the database {self.path}: {exc}") from exc
        await _configure(self._writer)
        try:
            await self._writer.execute("PRAGMA journal_mode = WAL")
            await self._writer.execute("PRAGMA synchronous = FULL")
            await self._migrate(self._writer)
        except sqlite3.DatabaseError as exc:
            await self._writer.close()
            raise ConfigError(f"{self.path} is not a usable kb database: {exc}") from exc
        except ConfigError:
            await self._writer.close()
            raise
        for _ in range(READERS):
            reader = await aiosqlite.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            await _configure(reader)
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)

    async def close(self) -> None:
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def schema_version(self) -> int:
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        known = migrations("sqlite")
        latest = known[-1].version if known else 0
        await conn.execute("BEGIN IMMEDIATE")
        try:
            async with conn.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            current = int(row[0]) if row else 0
            if current > latest:
                raise ConfigError(
                    f"the database {self.path} has schema version {current}, newer than this kb "
                    f"(which knows up to {latest}): upgrade kb or use another KB_DATABASE"
                )
            for migration in known:
                if migration.version > current:
                    log.info("applying migration %s", migration.name)
                    for statement in split_statements(migration.sql):
                        await conn.execute(statement)
                    await conn.execute(f"PRAGMA user_version = {migration.version}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    @contextlib.asynccontextmanager
    async def writer(self) -> AsyncIterator[Conn]:
        assert self._writer is not None
        yield SQLiteConn(self._writer)

    def unavailable(self, exc: BaseException) -> DatabaseUnavailable | None:
        return unavailable(exc)

    def retryable(self, exc: BaseException) -> bool:
        return False  # one writer per file: no deadlock to retry

    def rollback_failed(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)  # SQLite may have rolled back already (FULL, IOERR)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        reader = await self._readers.get()
        try:
            async with reader.execute(sql, tuple(params)) as cursor:
                return cast(list[Row], list(await cursor.fetchall()))
        finally:
            self._readers.put_nowait(reader)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    # --- notifications: within the process --------------------------------------------------

    async def notify(self, channel: str, payload: str) -> None:
        for queue in self._listeners.get(channel, ()):
            queue.put_nowait(payload)

    def subscription(self, channel: str) -> Subscription:
        return LocalSubscription(self._listeners, channel)


class LocalSubscription(Subscription):
    def __init__(self, listeners: dict[str, set[asyncio.Queue[str]]], channel: str) -> None:
        super().__init__(channel)
        self._listeners = listeners
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    async def _start(self) -> None:
        self._listeners.setdefault(self.channel, set()).add(self._queue)

    async def _next(self) -> str:
        return await self._queue.get()

    async def _stop(self) -> None:
        self._listeners.get(self.channel, set()).discard(self._queue)
