"""What both database backends share: the connection and row shapes the storage modules use,
the 503 a database that cannot write stands for, and the migrations of each dialect."""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from types import TracebackType
from typing import Any, Protocol, Self

from kb.errors import KBError
from kb.storage.dialect import Dialect

RETRY_BUSY_SECONDS = 5  # another writer holds the lock, the server restarts: usually gone in seconds
RETRY_BROKEN_SECONDS = 60  # disk full, read-only, I/O errors: someone has to act
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Row(Protocol):
    """A result row of either backend: by position, by column name, and `dict(row)`."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """The writer's connection as a write op sees it, inside the batch's transaction.
    Statements use `?`/`?N` placeholders (kb.storage.dialect)."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...


class Subscription(ABC):
    """The payloads notified on one channel from the moment of subscribing, oldest first.

    `async with db.listen(channel) as notes:` subscribes on entering (a notification sent after
    that is never missed) and unsubscribes on leaving; `async for payload in notes` waits for
    each. Iterating without `async with` subscribes at the first wait.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        await self.start()
        return await self._next()

    async def start(self) -> None:
        if not self._started:
            await self._start()
            self._started = True

    async def close(self) -> None:
        if self._started:
            self._started = False
            await self._stop()

    @abstractmethod
    async def _start(self) -> None: ...

    @abstractmethod
    async def _next(self) -> str: ...

    @abstractmethod
    async def _stop(self) -> None: ...


CHANNEL_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DatabaseUnavailable(KBError):
    """The database cannot write now (locked past the busy timeout, disk full, read-only, I/O
    error, server unreachable): a 503 with Retry-After, not a bug, so it is logged once per
    batch, without a traceback."""

    status = 503

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def busy() -> DatabaseUnavailable:
    return DatabaseUnavailable("the database is busy; try again in a moment", retry_after=RETRY_BUSY_SECONDS)


def broken() -> DatabaseUnavailable:
    return DatabaseUnavailable("the database cannot save anything now; try again later",
                               retry_after=RETRY_BROKEN_SECONDS)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str = "sqlite") -> list[Migration]:
    """The numbered scripts of kb/storage/migrations/<dialect>/, in order. A version number
    means the same schema in both dialects (PostgreSQL starts at 0008, all of SQLite's 0001-0008)."""
    found = []
    for entry in resources.files("kb.storage").joinpath("migrations", dialect).iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def split_statements(script: str) -> Iterable[str]:
    """SQLite: executescript() would commit our transaction, so statements run one by one."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and not _only_comments(statement):
                yield statement
    if buffer.strip() and not _only_comments(buffer):
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer[:80]!r}")


def _only_comments(text: str) -> bool:
    return all(part.strip().startswith("--") or not part.strip() for part in text.splitlines())
