"""SQLite through aiosqlite: WAL, one writer that commits small batches, read-only readers.

Every write is an async function of the writer connection, queued to one writer task. The
task runs a batch of queued writes in one `BEGIN IMMEDIATE ... COMMIT` (each in a savepoint,
so one failing write does not undo the others) and only then answers their callers: a write
that returned has been committed with synchronous=FULL, so it survives a killed process.
Batching keeps that durable and fast: one fsync serves every write that queued meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from kb.errors import ConfigError, KBError

log = logging.getLogger("kb.db")

T = TypeVar("T")
WriteOp = Callable[[aiosqlite.Connection], Awaitable[T]]

BUSY_TIMEOUT_MS = 10_000
MAX_BATCH = 256
READERS = 3
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# SQLite result codes that mean the database, not one write, cannot take writes now.
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_BROKEN_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
                 sqlite3.SQLITE_PERM}
RETRY_BUSY_SECONDS = 5  # another writer holds the lock: it is usually gone in seconds
RETRY_BROKEN_SECONDS = 60  # disk full, read-only, I/O errors: someone has to act


class DatabaseUnavailable(KBError):
    """The database cannot write now (locked past the busy timeout, disk full, read-only, I/O
    error): a 503 with Retry-After, not a bug, so it is logged once per batch, without a traceback."""

    status = 503

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 that `exc` stands for, or None when it is a fault of one write (or a bug)."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    if code is None:
        return None
    if code & 0xFF in _BUSY_CODES:
        return DatabaseUnavailable("the database is busy; try again in a moment", retry_after=RETRY_BUSY_SECONDS)
    if code & 0xFF in _BROKEN_CODES:
        return DatabaseUnavailable("the database cannot save anything now; try again later",
                                   retry_after=RETRY_BROKEN_SECONDS)
    return None


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    found = []
    for entry in resources.files("kb.storage").joinpath("migrations").iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def split_statements(script: str) -> Iterable[str]:
    """executescript() would commit our transaction, so statements run one by one."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and not all(
                part.strip().startswith("--") or not part.strip() for part in statement.splitlines()
            ):
                yield statement
    if buffer.strip() and not all(p.strip().startswith("--") or not p.strip() for p in buffer.splitlines()):
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer[:80]!r}")


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._queue: asyncio.Queue[tuple[WriteOp[Any], asyncio.Future[Any] | None] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------

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
        self._task = asyncio.create_task(self._run_writer(), name="kb-db-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        known = migrations()
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
        async def nothing(conn: aiosqlite.Connection) -> None:
            return None

        await self.write(nothing)

    async def _run_writer(self) -> None:
        assert self._writer is not None
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
        # Each statement is a round trip to the connection's thread (~0.1 ms here), so the
        # batch first runs its ops back to back. Only when one fails is the transaction rolled
        # back and the batch replayed with a savepoint around each op, which undoes the failing
        # op alone. Ops must therefore only act on the database: one may run twice, its first
        # run rolled back.
        results = await self._run_batch(batch, savepoints=False)
        if results is None:
            results = await self._run_batch(batch, savepoints=True)
        assert results is not None  # with savepoints a failing op is undone alone
        for future, ok, value in results:
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _run_batch(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any] | None]], *,
                         savepoints: bool) -> list[tuple[asyncio.Future[Any] | None, bool, Any]] | None:
        """Commit the batch; None when an op failed without savepoints (nothing committed)."""
        conn = self._writer
        assert conn is not None
        results: list[tuple[asyncio.Future[Any] | None, bool, Any]] = []
        try:
            await conn.execute("BEGIN IMMEDIATE")
            for op, future in batch:
                if not savepoints:
                    try:
                        value = await op(conn)
                    except Exception as exc:  # whatever failed, replay with savepoints
                        if unavailable(exc):
                            raise  # the database itself: a replay would fail the same way
                        await conn.execute("ROLLBACK")
                        return None
                    results.append((future, True, value))
                    continue
                await conn.execute("SAVEPOINT op")
                try:
                    value = await op(conn)
                except Exception as exc:  # one bad write must not sink the batch
                    if unavailable(exc):
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
        except Exception as exc:
            try:
                await conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR)
            refused = unavailable(exc)
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

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        reader = await self._readers.get()
        try:
            async with reader.execute(sql, tuple(params)) as cursor:
                return list(await cursor.fetchall())
        finally:
            self._readers.put_nowait(reader)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


def run_with_database(path: Path, work: Callable[[Database], Awaitable[T]]) -> T:
    """For CLI commands: open the database, run `work(db)` in one event loop, close it."""

    async def main() -> T:
        db = Database(path)
        await db.open()
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())
