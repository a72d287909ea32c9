"""The database of kb: SQLite (a file, the default) or PostgreSQL (a URL, for several nodes).

Every write is an async function of the writer's connection (kb.storage.base.Conn), queued to
one writer task. The task runs a batch of queued writes in one transaction (each in a
savepoint, so one failing write does not undo the others) and only then answers their callers:
a write that returned has been committed (SQLite: synchronous=FULL; PostgreSQL: the commit is
flushed), so it survives a killed process. Batching keeps that durable and fast: one flush
serves every write that queued meanwhile. The backends (sqlite.py, postgres.py) own the
connections, the migrations and the notifications.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kb.errors import BadRequest
from kb.storage.base import (
    CHANNEL_RE,
    RETRY_BROKEN_SECONDS,
    RETRY_BUSY_SECONDS,
    Conn,
    DatabaseUnavailable,
    Migration,
    Row,
    Subscription,
    migrations,
    split_statements,
)
from kb.storage.dialect import Dialect, dialect_of, is_postgresql, redacted

if TYPE_CHECKING:
    from kb.storage.postgres import PostgresBackend
    from kb.storage.sqlite import SQLiteBackend

__all__ = ["RETRY_BROKEN_SECONDS", "RETRY_BUSY_SECONDS", "Conn", "Database", "DatabaseUnavailable", "Migration",
           "Row", "WriteOp", "migrations", "run_with_database", "split_statements", "unavailable"]

log = logging.getLogger("kb.db")

T = TypeVar("T")
WriteOp = Callable[[Conn], Awaitable[T]]

MAX_BATCH = 256
MAX_RETRIES = 5  # PostgreSQL: a batch that lost a deadlock to another node runs again
_SQLITE_URL = re.compile(r"^sqlite:///")


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 that `exc` stands for, or None when it is a fault of one write (or a bug)."""
    from kb.storage import sqlite

    found = sqlite.unavailable(exc)
    if found is None and type(exc).__module__.startswith("psycopg"):
        from kb.storage import postgres

        found = postgres.unavailable(exc)
    return found


def database_target(value: Path | str) -> Path | str:
    """A PostgreSQL URL as it is, `sqlite:///path` or a plain path as a Path."""
    if isinstance(value, Path) or is_postgresql(value):
        return value
    return Path(_SQLITE_URL.sub("", value))


class Database:
    def __init__(self, target: Path | str) -> None:
        self.target = database_target(target)
        self.dialect: Dialect = dialect_of(self.target)
        self.backend: SQLiteBackend | PostgresBackend
        if isinstance(self.target, Path):
            from kb.storage.sqlite import SQLiteBackend

            self.backend = SQLiteBackend(self.target)
        else:
            from kb.storage.postgres import PostgresBackend

            self.backend = PostgresBackend(self.target)
        self._queue: asyncio.Queue[tuple[WriteOp[Any], asyncio.Future[Any] | None] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Database({redacted(self.target)!r})"

    @property
    def name(self) -> str:
        """The database for messages: a path, or a URL without its password."""
        return redacted(self.target)

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and migrate (ConfigError with a clear message when that is impossible)."""
        await self.backend.open()
        self._task = asyncio.create_task(self._run_writer(), name="kb-db-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        await self.backend.close()

    async def schema_version(self) -> int:
        return await self.backend.schema_version()

    # --- writes ---------------------------------------------------------------------------

    async def write(self, op: WriteOp[T]) -> T:
        """Run op in the writer's next batch; return once that batch is committed."""
        if self._task is None:
            raise RuntimeError("database is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, future))
        return await future

    def write_later(self, op: WriteOp[Any]) -> None:
        """Queue a write nobody waits for (search logs, page views): off the request path."""
        if self._task is not None:
            self._queue.put_nowait((op, None))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        async def nothing(conn: Conn) -> None:
            return None

        await self.write(nothing)

    async def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            batch = []
            while True:
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if batch:
                await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any] | None]]) -> None:
        # Each statement is a round trip (to SQLite's thread, or to the server), so the batch
        # first runs its ops back to back. Only when one fails is the transaction rolled back
        # and the batch replayed with a savepoint around each op, which undoes the failing op
        # alone. Ops must therefore only act on the database: one may run twice, its first run
        # rolled back. On PostgreSQL a batch that lost a deadlock against another node's (the
        # server aborts one of the two) runs again.
        for attempt in range(MAX_RETRIES + 1):
            results = await self._run_batch(batch, savepoints=False, last=attempt == MAX_RETRIES)
            if results is None:
                results = await self._run_batch(batch, savepoints=True, last=attempt == MAX_RETRIES)
            if results is not None:
                break
        assert results is not None  # with savepoints a failing op is undone alone
        for future, ok, value in results:
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _run_batch(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any] | None]], *,
                         savepoints: bool, last: bool = True
                         ) -> list[tuple[asyncio.Future[Any] | None, bool, Any]] | None:
        """Commit the batch; None when an op failed without savepoints, or when the batch should
        run again (a deadlock, unless `last`): nothing committed then."""
        backend = self.backend
        results: list[tuple[asyncio.Future[Any] | None, bool, Any]] = []
        try:
            async with backend.writer() as conn:
                try:
                    await conn.execute(self.dialect.begin)
                    for op, future in batch:
                        if not savepoints:
                            try:
                                value = await op(conn)
                            except Exception as exc:  # whatever failed, replay with savepoints
                                if backend.unavailable(exc) or backend.retryable(exc):
                                    raise  # the database itself: a replay would fail the same way
                                await conn.execute("ROLLBACK")
                                return None
                            results.append((future, True, value))
                            continue
                        await conn.execute("SAVEPOINT op")
                        try:
                            value = await op(conn)
                        except Exception as exc:  # one bad write must not sink the batch
                            if backend.unavailable(exc) or backend.retryable(exc):
                                raise
                            await conn.execute("ROLLBACK TO op")
                            await conn.execute("RELEASE op")
                            if future is None:
                                log.exception("background write failed")
                            results.append((future, False, exc))
                        else:
                            await conn.execute("RELEASE op")
                            results.append((future, True, value))
                    await conn.execute("COMMIT")
                except Exception:
                    try:
                        await conn.execute("ROLLBACK")
                    except Exception as exc:
                        if not backend.rollback_failed(exc):
                            raise
                    raise
        except Exception as exc:
            if backend.retryable(exc) and not last:
                log.info("write batch lost a deadlock, running it again: %s", exc)
                return None
            refused = backend.unavailable(exc)
            if refused is None:
                log.exception("write batch failed")
                results = [(future, False, exc) for _, future in batch]
            else:
                # One line for the whole batch; each waiting caller gets its own exception
                # (one instance raised in many requests would chain their tracebacks).
                log.warning("database cannot write, %d queued writes refused: %s", len(batch), exc)
                results = [(future, False, DatabaseUnavailable(refused.message, retry_after=refused.retry_after))
                           for _, future in batch]
        return results

    # --- reads ----------------------------------------------------------------------------

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self.backend.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    # --- notifications --------------------------------------------------------------------

    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell every listener of `channel` (on PostgreSQL: on every node; on SQLite: in this
        process). Sent at once, outside any write batch; payload under 8000 bytes."""
        await self.backend.notify(_channel(channel), payload)

    def listen(self, channel: str) -> Subscription:
        """The notifications of `channel` from now on (kb.storage.base.Subscription):
        `async with db.listen("content") as notes: async for payload in notes: ...`"""
        return self.backend.subscription(_channel(channel))


def _channel(channel: str) -> str:
    if not CHANNEL_RE.match(channel):
        raise BadRequest(f"a notification channel is a lower-case SQL name, not {channel[:70]!r}")
    return channel


def run_with_database(target: Path | str, work: Callable[[Database], Awaitable[T]]) -> T:
    """For CLI commands: open the database, run `work(db)` in one event loop, close it."""

    async def main() -> T:
        db = Database(target)
        await db.open()
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())
