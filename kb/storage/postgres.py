"""PostgreSQL through psycopg 3 (async) and psycopg_pool, for kb running as several nodes.

Each node has one writer connection (the batching writer of kb.storage.db, as on SQLite) and a
small pool of autocommit connections for reads, notifications and rate-limit hits. Migrations
are the scripts of migrations/postgresql/, recorded in `kb_schema`, applied under an advisory
lock so that nodes starting together migrate once. LISTEN/NOTIFY carries notifications
between nodes; each subscription has its own connection and reconnects when it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

import psycopg
import psycopg_pool
from psycopg import sql as pgsql

from kb.errors import ConfigError
from kb.storage.base import Conn, DatabaseUnavailable, Row, Subscription, broken, busy, migrations
from kb.storage.dialect import POSTGRESQL, Dialect, redacted

log = logging.getLogger("kb.db")

READERS = 4
CONNECT_TIMEOUT = 10  # seconds; a node that cannot reach its database says so instead of hanging
_MIGRATION_LOCK = 0x6B62_0001  # pg_advisory_xact_lock key: one node migrates at a time
# SQLSTATE classes and codes that mean the server, not one write, cannot take writes now.
_BROKEN_STATES = {"53100", "53200", "25006", "58030"}  # disk full, out of memory, read-only, I/O
_RETRY_STATES = {"40001", "40P01"}  # serialization failure, deadlock detected


class PGRow:
    """A row by position or column name, like sqlite3.Row (kb.storage.base.Row)."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Any:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"PGRow({dict(zip(self._index, self._values, strict=True))!r})"


_NUMERIC_OID = 1700


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rows(cursor: Any) -> Callable[[Sequence[Any]], PGRow]:
    """Rows as kb.storage.base.Row. A sum of integers comes back as an int, as from SQLite
    (PostgreSQL's sum of a bigint is a numeric, a Decimal in Python)."""
    description = cursor.description or ()
    index = {column.name: i for i, column in enumerate(description)}
    numeric = [i for i, column in enumerate(description) if column.type_code == _NUMERIC_OID]
    if not numeric:
        return lambda values: PGRow(values, index)

    def row(values: Sequence[Any]) -> PGRow:
        converted = list(values)
        for i in numeric:
            converted[i] = _number(converted[i])
        return PGRow(converted, index)

    return row


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return busy()
    if not isinstance(exc, psycopg.Error):
        return None
    state = exc.sqlstate or ""
    if state in _BROKEN_STATES:
        return broken()
    if isinstance(exc, psycopg.OperationalError) and state not in _RETRY_STATES:
        return busy()  # the connection dropped, the server restarts or refuses connections
    return None


class PGConn:
    """A write op's view of the writer connection (kb.storage.base.Conn)."""

    def __init__(self, raw: psycopg.AsyncConnection[Any]) -> None:
        self.raw = raw

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        query, values = POSTGRESQL.translate(sql, params)
        cursor = await self.raw.execute(cast(Any, query), values)
        return cursor.rowcount

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        rows = [POSTGRESQL.translate(sql, p) for p in params]
        if rows:
            async with self.raw.cursor() as cursor:
                await cursor.executemany(cast(Any, rows[0][0]), [values for _, values in rows])

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        query, values = POSTGRESQL.translate(sql, params)
        cursor = await self.raw.execute(cast(Any, query), values)
        return cast(list[Row], await cursor.fetchall()) if cursor.description else []

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    """One autocommit connection (the CLI's copy and the tests use it too)."""
    return await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=_rows,
                                                 connect_timeout=CONNECT_TIMEOUT)


async def _no_disk_wait(conn: psycopg.AsyncConnection[Any]) -> None:
    """Readers commit nothing anyone needs durable (rate-limit hits, notifications; every vote,
    view and edit goes through the writer, whose commits wait for the disk): set once per
    connection rather than around each call, which cost two more round trips per hit."""
    await conn.execute("SET synchronous_commit = off")


class PostgresBackend:
    dialect = POSTGRESQL

    def __init__(self, url: str) -> None:
        self.url = url
        self._writer: psycopg_pool.AsyncConnectionPool[Any] | None = None
        self._readers: psycopg_pool.AsyncConnectionPool[Any] | None = None

    async def open(self) -> None:
        try:
            conn = await connect(self.url)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot connect to the database {redacted(self.url)}: "
                              f"{str(exc).strip() or type(exc).__name__}") from exc
        try:
            await self._migrate(PGConn(conn))
        except psycopg.Error as exc:
            raise ConfigError(f"{redacted(self.url)} is not a usable kb database: {exc}") from exc
        finally:
            await conn.close()
        kwargs = {"autocommit": True, "row_factory": _rows, "connect_timeout": CONNECT_TIMEOUT}
        # The writer is a pool of one: a connection that broke (a server restart) is replaced.
        self._writer = psycopg_pool.AsyncConnectionPool(self.url, min_size=1, max_size=1, kwargs=kwargs,
                                                        open=False, name="kb-writer", timeout=30)
        self._readers = psycopg_pool.AsyncConnectionPool(self.url, min_size=1, max_size=READERS,
                                                         kwargs=kwargs, open=False, name="kb-readers",
                                                         timeout=30, configure=_no_disk_wait)
        await self._writer.open(wait=True, timeout=CONNECT_TIMEOUT)
        await self._readers.open(wait=True, timeout=CONNECT_TIMEOUT)

    async def close(self) -> None:
        for pool in (self._readers, self._writer):
            if pool is not None:
                await pool.close()
        self._readers = self._writer = None

    async def _migrate(self, conn: PGConn) -> None:
        known = migrations("postgresql")
        latest = known[-1].version if known else 0
        await conn.execute("BEGIN")
        try:
            await conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            await conn.execute("CREATE TABLE IF NOT EXISTS kb_schema (version integer PRIMARY KEY, "
                               "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            row = await conn.fetch_one("SELECT COALESCE(max(version), 0) FROM kb_schema")
            current = int(row[0]) if row else 0
            if current > latest:
                raise ConfigError(
                    f"the database {redacted(self.url)} has schema version {current}, newer than this kb "
                    f"(which knows up to {latest}): upgrade kb or use another KB_DATABASE")
            for migration in known:
                if migration.version > current:
                    log.info("applying migration postgresql/%s", migration.name)
                    await conn.raw.execute(cast(Any, migration.sql))  # no parameters: one script
                    await conn.execute("INSERT INTO kb_schema (version, name) VALUES (?, ?)",
                                       (migration.version, migration.name))
            await conn.execute("COMMIT")
        except BaseException:
            await conn.raw.execute("ROLLBACK")
            raise

    async def schema_version(self) -> int:
        row = await self.fetch_one("SELECT COALESCE(max(version), 0) FROM kb_schema")
        return int(row[0]) if row else 0

    @contextlib.asynccontextmanager
    async def writer(self) -> AsyncIterator[Conn]:
        assert self._writer is not None, "database is not open"
        async with self._writer.connection() as conn:
            yield PGConn(conn)

    def unavailable(self, exc: BaseException) -> DatabaseUnavailable | None:
        return unavailable(exc)

    def retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.Error) and exc.sqlstate in _RETRY_STATES

    def rollback_failed(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.Error)  # the connection is gone: the pool replaces it

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        assert self._readers is not None, "database is not open"
        async with self._readers.connection() as conn:
            return await PGConn(conn).fetch_all(sql, list(params))

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def call(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """One statement that writes what nobody needs durable (rate-limit hits), outside the
        writer's batches, on a reader connection: its commit does not wait for the disk."""
        assert self._readers is not None, "database is not open"
        async with self._readers.connection() as conn:
            return await PGConn(conn).fetch_one(sql, params)

    # --- notifications: LISTEN/NOTIFY ---------------------------------------------------------

    async def notify(self, channel: str, payload: str) -> None:
        assert self._readers is not None, "database is not open"
        async with self._readers.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    def subscription(self, channel: str) -> Subscription:
        return PGSubscription(self.url, channel)


class PGSubscription(Subscription):
    """LISTEN on a connection of its own; a dropped connection is reopened (notifications sent
    meanwhile are lost, so listeners also poll)."""

    RECONNECT_SECONDS = 1.0

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(channel)
        self.url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._notes: AsyncIterator[psycopg.Notify] | None = None

    async def _start(self) -> None:
        self._conn = await connect(self.url)
        await self._conn.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(self.channel)))
        self._notes = self._conn.notifies()

    async def _next(self) -> str:
        while True:
            try:
                assert self._notes is not None
                return (await anext(self._notes)).payload
            except (psycopg.OperationalError, StopAsyncIteration) as exc:
                log.warning("lost the notifications of %r (%s); listening again", self.channel, exc)
                await self._stop()
                while True:
                    await asyncio.sleep(self.RECONNECT_SECONDS)
                    try:
                        await self._start()
                        break
                    except psycopg.OperationalError as again:
                        log.warning("cannot listen to %r yet: %s", self.channel, again)

    async def _stop(self) -> None:
        notes, self._notes = self._notes, None
        if notes is not None:
            with contextlib.suppress(Exception):
                await cast(Any, notes).aclose()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
