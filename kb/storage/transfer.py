"""`kb db copy`: every table of a SQLite site into a new PostgreSQL database, verified.

The source is read in one read transaction (a consistent snapshot of a running site: writes
made after it starts are not copied). The target is filled with COPY in one transaction, with
the triggers off (the aggregates are copied as they are, not recounted: a vote's first revision
and every past day stay as they were); its identity sequences continue after the copied ids.
Before committing, each table's row count must equal the source's, and the vote tallies must
equal the source's and the target's own recount of its counted votes; otherwise nothing is kept.
The copied tables are then analyzed, so the first queries on them are planned with statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import psycopg
from psycopg import sql as pgsql

from kb.errors import Conflict, KBError
from kb.storage.base import migrations
from kb.storage.dialect import redacted
from kb.storage.postgres import connect

# Parents first; every table of the schema (tests check the list against both schemas).
TABLES = ("kv", "votes", "vote_tallies", "searches", "search_clicks", "policy_versions", "users", "revisions",
          "pending_edits", "page_views", "article_daily", "vote_reasons", "vote_revisions", "search_daily",
          "api_tokens", "synonym_dismissals", "reformulations")
PAGE = 5_000
_TALLIES = "SELECT article_id, lang, yes, no FROM vote_tallies WHERE yes != 0 OR no != 0 ORDER BY 1, 2"
_RECOUNT = ("SELECT article_id, lang, sum(helpful), sum(1 - helpful) FROM votes WHERE counted = 1 "
            "GROUP BY 1, 2 ORDER BY 1, 2")


class CopyRefused(Conflict):
    """The target is not a new, empty kb database, or the copy did not verify."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    votes_tallied: int = 0


async def copy_to_postgresql(source: Path, target: str,
                             progress: Callable[[str, int], None] | None = None) -> CopyReport:
    """Copy the SQLite database `source` (already migrated) into the migrated, empty `target`."""
    async with aiosqlite.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None) as reader:
        await reader.execute("BEGIN")  # one snapshot for every table
        version = (await (await reader.execute("PRAGMA user_version")).fetchone() or (0,))[0]
        latest = migrations("sqlite")[-1].version
        if version != latest:
            raise KBError(f"{source} has schema version {version}, this kb writes {latest}: run `kb db migrate` "
                          "on it first")
        try:
            conn = await connect(target)
        except psycopg.Error as exc:
            raise KBError(f"cannot connect to {redacted(target)}: {str(exc).strip()}") from exc
        try:
            report = await _copy(reader, conn, target, progress)
            # Statistics for the planner now, not at autovacuum's leisure: a fresh table without
            # them can get a plan that scans millions of rows on the first dashboard.
            await conn.execute(pgsql.SQL("ANALYZE {}").format(pgsql.SQL(", ").join(map(pgsql.Identifier, TABLES))))
            return report
        finally:
            await conn.close()


async def _copy(reader: aiosqlite.Connection, conn: psycopg.AsyncConnection[Any], target: str,
                progress: Callable[[str, int], None] | None) -> CopyReport:
    report = CopyReport()
    async with conn.transaction():
        for table in TABLES:
            cursor = await conn.execute(pgsql.SQL("SELECT 1 FROM {} LIMIT 1").format(pgsql.Identifier(table)))
            if await cursor.fetchone() is not None:
                raise CopyRefused(f"{redacted(target)} is not empty ({table} has rows): kb db copy only fills a "
                                  "new database; create an empty one (kb migrates it)")
        for table in TABLES:
            report.rows[table] = await _copy_table(reader, conn, table)
            if progress is not None:
                progress(table, report.rows[table])
        await _verify(reader, conn, report)
    return report


async def _copy_table(reader: aiosqlite.Connection, conn: psycopg.AsyncConnection[Any], table: str) -> int:
    columns = [row[1] for row in await reader.execute_fetchall(f"PRAGMA table_info({table})")]
    name = pgsql.Identifier(table)
    await conn.execute(pgsql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(name))
    copied = 0
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(name, pgsql.SQL(", ").join(map(pgsql.Identifier, columns)))
    async with conn.cursor().copy(statement) as copy:
        cursor = await reader.execute(f"SELECT {', '.join(columns)} FROM {table}")
        while rows := list(await cursor.fetchmany(PAGE)):
            for row in rows:
                await copy.write_row(tuple(row))
            copied += len(rows)
    await conn.execute(pgsql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(name))
    if "id" in columns:  # new rows continue after the copied ids
        await conn.execute(pgsql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                                     "GREATEST((SELECT max(id) FROM {}), 1))").format(name), (table,))
    return copied


async def _verify(reader: aiosqlite.Connection, conn: psycopg.AsyncConnection[Any], report: CopyReport) -> None:
    for table, expected in report.rows.items():
        source = (await (await reader.execute(f"SELECT count(*) FROM {table}")).fetchone() or (0,))[0]
        cursor = await conn.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(table)))
        copied = (await cursor.fetchone() or (0,))[0]
        if not source == copied == expected:
            raise CopyRefused(f"{table}: {source} rows in SQLite, {copied} in PostgreSQL; nothing was kept")
    source_tallies = [tuple(r) for r in await reader.execute_fetchall(_TALLIES)]
    target_tallies = [tuple(r) for r in await (await conn.execute(_TALLIES)).fetchall()]
    recount = [tuple(r) for r in await (await conn.execute(_RECOUNT)).fetchall()]
    recount = [r for r in recount if r[2] or r[3]]
    if source_tallies != target_tallies or target_tallies != recount:
        raise CopyRefused("the vote tallies differ after the copy (SQLite's, PostgreSQL's, or a recount of the "
                          "votes); nothing was kept")
    report.votes_tallied = sum(int(r[2]) + int(r[3]) for r in target_tallies)
