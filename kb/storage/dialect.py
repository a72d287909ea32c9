"""The two SQL dialects kb speaks: SQLite (the embedded default) and PostgreSQL (several nodes).

Storage modules write one statement per query in the portable subset (`?` and `?N`
placeholders, `INSERT ... ON CONFLICT`, `RETURNING`, `WITH ... AS MATERIALIZED`); the
PostgreSQL connection translates the placeholders. Where the dialects must differ (the current
time, a JSON list of keys, SQLite's INDEXED BY), a module asks its connection's `Dialect`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_TOKEN_RE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?(\d*)|%")


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" or "postgresql"
    now: str  # SQL of the current UTC time as ISO 8601 text with milliseconds (the stored format)
    begin: str  # how the writer starts a batch's transaction

    def translate(self, sql: str, params: Sequence[Any] = ()) -> tuple[str, list[Any]]:
        """The statement and parameters for the driver. SQLite takes them as written; for
        psycopg, `?` and `?N` become `%s` (in order, a reused `?N` repeated) and `%` is doubled.
        A bare `?` numbers itself one past the highest number so far, as in SQLite."""
        if self.name == "sqlite":
            return sql, list(params)
        values: list[Any] = []
        highest = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal highest
            token = match.group(0)
            if token == "%":
                return "%%"
            if not token.startswith("?"):
                return token.replace("%", "%%")  # a quoted string or name: no placeholder in it
            number = int(match.group(1)) if match.group(1) else highest + 1
            highest = max(highest, number)
            values.append(params[number - 1])
            return "%s"

        return _TOKEN_RE.sub(replace, sql), values

    def pairs_in(self, columns: str) -> str:
        """`(a, b) IN (...)` over one parameter, a JSON list of [int, text] pairs (see `pairs`)."""
        if self.name == "sqlite":
            return f"({columns}) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
        return f"({columns}) IN (SELECT (value ->> 0)::bigint, value ->> 1 FROM jsonb_array_elements(?::jsonb))"

    def lock(self, table: str) -> str | None:
        """The statement that makes a read-then-write on `table` exclusive among nodes (a
        PostgreSQL table lock that lets reads through); SQLite's one writer is exclusive already."""
        return None if self.name == "sqlite" else f"LOCK TABLE {table} IN EXCLUSIVE MODE"

    @property
    def ordered_join(self) -> str:
        """A join whose left side drives the lookups: SQLite keeps a CROSS JOIN's order."""
        return "CROSS JOIN" if self.name == "sqlite" else "JOIN"

    def seconds_before(self, time: str, seconds: int) -> str:
        """SQL of the stored time text `seconds` before the stored time text `time` (a column):
        a bound that keeps a range on a time index."""
        if self.name == "sqlite":
            return f"strftime('%Y-%m-%dT%H:%M:%fZ', {time}, '-{int(seconds)} seconds')"
        return (f"to_char(({time})::timestamptz AT TIME ZONE 'UTC' - interval '{int(seconds)} seconds', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")

    def indexed_by(self, table: str, index: str) -> str:
        """SQLite's planner sometimes needs the covering index named; PostgreSQL's chooses."""
        return f"{table} INDEXED BY {index}" if self.name == "sqlite" else table


def pairs(items: Sequence[tuple[int, str]]) -> str:
    return json.dumps([list(pair) for pair in items])


SQLITE = Dialect("sqlite", "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", "BEGIN IMMEDIATE")
# kb_now() is defined by the PostgreSQL schema (0008) with the same format as SQLite's strftime.
POSTGRESQL = Dialect("postgresql", "kb_now()", "BEGIN")

_URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgresql(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(_URL_SCHEMES)


def dialect_of(target: Path | str) -> Dialect:
    return POSTGRESQL if is_postgresql(target) else SQLITE


def redacted(target: Path | str) -> str:
    """The database for messages and logs: a URL's password is never shown."""
    if not is_postgresql(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))
