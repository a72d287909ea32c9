"""Issue 13: synonym candidates are kept at write time (the reformulations table, migration
0011), on SQLite and on PostgreSQL, and always equal the definition read from the log.

The report reads the kept pairs; `scanned` reads the same definition from the raw log, and
`expected` (tests/unit/test_synonym_candidates.py) writes it in plain Python. Logs are written
the way the app cannot guarantee they arrive: searches out of time order, clicks long after
their search (a failed search that gets opened later is no longer a failure), clicks and
searches deleted.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.storage.base import split_statements
from kb.storage.db import Conn, Database, migrations
from kb.storage.reformulations import WINDOW_SECONDS, reformulations, scanned
from kb.storage.transfer import copy_to_postgresql
from tests.conftest import DIALECTS, database_for
from tests.pg_cluster import Cluster
from tests.unit.test_synonym_candidates import WINDOW, Step, expected, stamp, step_strategy

database_url = pytest.fixture(params=DIALECTS)(database_for)
BEFORE_0011 = 10  # the schema version of a site that logged searches before the table existed
Found = list[tuple[str, str, str, int, int]]


async def write_searches(db: Database, steps: Sequence[tuple[int, Step]]) -> None:
    async def op(conn: Conn) -> None:
        for search_id, step in steps:
            await conn.execute(
                "INSERT INTO searches (id, query, lang, results, took_ms, visitor, created_at) "
                "VALUES (?, ?, ?, ?, 1.0, ?, ?)",
                (search_id, step.query, step.lang, step.results, step.visitor, stamp(step.at)))

    await db.write(op)


async def click(db: Database, search_id: int, article_id: int = 7) -> None:
    async def op(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor) "
            "SELECT id, query, lang, ?, 1, visitor FROM searches WHERE id = ?", (article_id, search_id))

    await db.write(op)


async def delete(db: Database, table: str, column: str, value: int) -> None:
    async def op(conn: Conn) -> None:
        await conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (value,))

    await db.write(op)


async def kept(db: Database, lang: str | None = None) -> Found:
    rows = await reformulations(db, "2026-03-01", "2026-04-01", lang)
    return [(r.lang, r.first, r.second, r.count, r.visitors) for r in rows]


async def read_from_the_log(db: Database) -> Found:
    rows = await scanned(db, "2026-03-01", "2026-04-01", None, window=WINDOW)
    return [(r.lang, r.first, r.second, r.count, r.visitors) for r in rows]


def test_the_window_kept_is_the_candidates_window() -> None:
    assert WINDOW_SECONDS == WINDOW
    assert all("'-300 seconds'" in m.sql or "interval '300 seconds'" in m.sql
               for d in DIALECTS for m in migrations(d) if m.name == "0011_reformulations.sql")


async def test_a_failed_search_whose_result_is_opened_later_stops_being_a_failure(db: Database) -> None:
    await write_searches(db, [(1, Step("chargeback", 0)), (2, Step("refund", 30))])
    assert await kept(db) == []
    await click(db, 2)  # the refund search's result opened: chargeback (results, none opened) -> refund
    assert await kept(db) == [("en", "chargeback", "refund", 1, 1)]
    await click(db, 1)  # then the visitor goes back and opens a chargeback result after all
    assert await kept(db) == []
    await click(db, 1, article_id=8)  # a second click of the same search changes nothing
    await delete(db, "search_clicks", "search_id", 1)  # its clicks gone, it failed again
    assert await kept(db) == [("en", "chargeback", "refund", 1, 1)]


async def test_a_search_written_late_joins_or_breaks_the_pairs_around_it(db: Database) -> None:
    await write_searches(db, [(10, Step("cashback", 0, results=0)), (12, Step("refund", 60))])
    await click(db, 12)
    assert await kept(db) == [("en", "cashback", "refund", 1, 1)]
    # Written after the click, made before it: an opened search between the two ...
    await write_searches(db, [(11, Step("rebate", 30))])
    await click(db, 11)
    assert await kept(db) == [("en", "cashback", "rebate", 1, 1)]
    # ... and a search that typed on from the failed query: that one was a typing step.
    await write_searches(db, [(9, Step("cashbacks", 20, results=0))])
    assert await kept(db) == [("en", "cashbacks", "rebate", 1, 1)] == await read_from_the_log(db)
    await delete(db, "searches", "id", 9)
    await delete(db, "searches", "id", 11)
    assert await kept(db) == [("en", "cashback", "refund", 1, 1)] == await read_from_the_log(db)


async def test_a_visitor_who_repeats_a_pair_counts_once_in_each_period_that_holds_it(db: Database) -> None:
    day = 86_400
    await write_searches(db, [(1, Step("cashback", 0, results=0)), (2, Step("refund", 20)),
                              (3, Step("cashback", day, results=0)), (4, Step("refund", day + 20)),
                              (5, Step("cashback", day + 100, results=0)), (6, Step("refund", day + 120))])
    for search_id in (6, 2, 4):  # opened out of order too
        await click(db, search_id)

    async def on(since: str, before: str) -> list[tuple[int, int]]:
        return [(r.count, r.visitors) for r in await reformulations(db, since, before, "en")]

    assert await on("2026-03-10", "2026-03-12") == [(3, 1)]
    assert await on("2026-03-11", "2026-03-12") == [(2, 1)]  # their earlier pair is outside the period
    assert await on("2026-03-10", "2026-03-11") == [(1, 1)]
    assert await on("2026-03-10T09:00:30Z", "2026-03-11T09:01:00Z") == [(1, 1)]


# --- generated logs, written in any order, against the definition --------------------------------

@st.composite
def shuffled_logs(draw: st.DrawFn) -> tuple[list[Step], list[int], list[int], list[int]]:
    """Steps, the order their searches are written in, the order of their clicks (written after
    every search), and the clicks then deleted."""
    steps = draw(st.lists(step_strategy, max_size=14))
    steps = [Step(s.query, s.at, s.results, s.opened and s.results > 0, s.visitor, s.lang) for s in steps]
    order = draw(st.permutations(range(len(steps))))
    opened = [i for i, s in enumerate(steps) if s.opened]
    clicks = draw(st.permutations(opened))
    unclicked = draw(st.lists(st.sampled_from(opened), unique=True, max_size=2)) if opened else []
    return steps, list(order), list(clicks), unclicked


async def check_shuffled(db: Database, steps: list[Step], order: list[int], clicks: list[int],
                         unclicked: list[int]) -> None:
    await write_searches(db, [(i + 1, steps[i]) for i in order])
    for i in clicks:
        await click(db, i + 1)
    for i in unclicked:
        await delete(db, "search_clicks", "search_id", i + 1)
    now = [Step(s.query, s.at, s.results, s.opened and i not in unclicked, s.visitor, s.lang)
           for i, s in enumerate(steps)]
    assert await kept(db) == await read_from_the_log(db) == expected(now)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(log=shuffled_logs())
def test_generated_logs_written_in_any_order_keep_the_pairs_of_the_definition_on_sqlite(
        log: tuple[list[Step], list[int], list[int], list[int]]) -> None:
    async def run(path: Path) -> None:
        database = Database(path)
        await database.open()
        try:
            await check_shuffled(database, *log)
        finally:
            await database.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "kb.sqlite3"))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # emptied after each example
@given(log=shuffled_logs())
def test_generated_logs_written_in_any_order_keep_the_pairs_of_the_definition_on_postgresql(
        pg_url: str, log: tuple[list[Step], list[int], list[int], list[int]]) -> None:
    async def run() -> None:
        database = Database(pg_url)
        await database.open()
        try:
            await check_shuffled(database, *log)
        finally:
            await database.close()

    try:
        asyncio.run(run())
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("TRUNCATE searches, search_clicks, search_daily, reformulations")


# --- a site that logged searches before 0011 ----------------------------------------------------

def random_log(seed: int, visitors: int = 40) -> list[Step]:
    rng = random.Random(seed)
    queries = ["refund", "ref", "money back", "chargeback", "charge", "downgrade", "cheaper plan", "vpn"]
    steps = []
    for v in range(visitors):
        at = rng.uniform(0, 86_400 * 3)
        for _ in range(rng.randrange(1, 8)):
            results = rng.choice((0, 3, 3))
            steps.append(Step(rng.choice(queries), round(at, 3), results, results > 0 and rng.random() < 0.5,
                              f"v{v}", rng.choice(("en", "en", "fr"))))
            at += rng.uniform(1, 200)
    return steps


def log_rows(steps: Sequence[Step]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    searches = [(i + 1, s.query, s.lang, s.results, s.visitor, stamp(s.at)) for i, s in enumerate(steps)]
    clicks = [(i + 1, s.query, s.lang, s.visitor, stamp(s.at + 2)) for i, s in enumerate(steps) if s.opened]
    return searches, clicks


SEARCH_SQL = "INSERT INTO searches (id, query, lang, results, took_ms, visitor, created_at) VALUES (?, ?, ?, ?, 1.0, ?, ?)"
CLICK_SQL = ("INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor, created_at) "
             "VALUES (?, ?, ?, 7, 1, ?, ?)")


def sqlite_before_0011(path: Path, steps: Sequence[Step]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for migration in migrations("sqlite"):
            if migration.version <= BEFORE_0011:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {BEFORE_0011}")
        searches, clicks = log_rows(steps)
        conn.executemany(SEARCH_SQL, searches)
        conn.executemany(CLICK_SQL, clicks)
    finally:
        conn.close()


def postgresql_before_0011(url: str, steps: Sequence[Step]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kb_schema (version integer PRIMARY KEY, name text NOT NULL, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        for migration in migrations("postgresql"):
            if migration.version <= BEFORE_0011:
                conn.execute(migration.sql.encode())
                conn.execute("INSERT INTO kb_schema (version, name) VALUES (%s, %s)", (migration.version, migration.name))
        searches, clicks = log_rows(steps)
        with conn.cursor() as cursor:
            cursor.executemany(SEARCH_SQL.replace("?", "%s"), searches)
            cursor.executemany(CLICK_SQL.replace("?", "%s"), clicks)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_the_migration_fills_the_table_from_the_log_written_before_it(
        dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    steps = random_log(13)
    target: Path | str
    if dialect == "sqlite":
        target = tmp_path / "kb.sqlite3"
        sqlite_before_0011(target, steps)
    else:
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        target = cluster.create_database(migrated=False)
        postgresql_before_0011(target, steps)
    database = Database(target)
    await database.open()  # applies 0011
    try:
        assert await database.schema_version() == migrations(dialect)[-1].version
        found = await kept(database)
        assert len(found) >= 10  # the log has reformulations to find
        assert found == await read_from_the_log(database) == expected(steps)
    finally:
        await database.close()


async def test_kb_db_copy_moves_the_kept_pairs(tmp_path: Path, pg_cluster: Cluster) -> None:
    steps = random_log(14)
    source = Database(tmp_path / "kb.sqlite3")
    await source.open()
    try:
        searches, clicks = log_rows(steps)

        async def op(conn: Conn) -> None:
            await conn.executemany(SEARCH_SQL, searches)
            await conn.executemany(CLICK_SQL, clicks)

        await source.write(op)
        before = await kept(source)
    finally:
        await source.close()
    target = pg_cluster.create_database(migrated=True)
    report = await copy_to_postgresql(tmp_path / "kb.sqlite3", target)
    assert report.rows["reformulations"] > 0
    moved = Database(target)
    await moved.open()
    try:
        assert await kept(moved) == before == expected(steps) and before
    finally:
        await moved.close()
