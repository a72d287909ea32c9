"""Both databases: the dialect layer, the writer's batches, notifications, `kb db migrate|copy`."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from kb.cli.main import main
from kb.storage import transfer
from kb.storage.db import Conn, Database, WriteOp, migrations
from kb.storage.dialect import POSTGRESQL, SQLITE, redacted
from tests.admin_support import add_user, csrf, login
from tests.conftest import DIALECTS, MakeClient, database_for, services_of
from tests.pg_cluster import Cluster

database_url = pytest.fixture(params=DIALECTS)(database_for)


@pytest.fixture
def target(database_url: str | None, tmp_path: Path) -> str | Path:
    return database_url or tmp_path / "kb.sqlite3"


def test_placeholders_are_translated_for_postgresql_and_left_alone_for_sqlite() -> None:
    sql = "SELECT ?1, ? , '?%' FROM t WHERE a LIKE ? AND b = ?1"
    assert SQLITE.translate(sql, [1, 2, 3]) == (sql, [1, 2, 3])
    assert POSTGRESQL.translate(sql, ["a", "b", "c"]) == (
        "SELECT %s, %s , '?%%' FROM t WHERE a LIKE %s AND b = %s", ["a", "b", "c", "a"])


def test_a_url_password_is_never_shown() -> None:
    assert redacted("postgresql://kb:s3cret@db.example:5432/kb") == "postgresql://kb:***@db.example:5432/kb"
    assert "s3cret" not in repr(Database("postgresql://kb:s3cret@db.example/kb"))


async def test_migrations_bring_a_new_database_to_the_same_version_in_both_dialects(target: str | Path) -> None:
    db = Database(target)
    await db.open()
    try:
        assert await db.schema_version() == migrations("sqlite")[-1].version == migrations("postgresql")[-1].version
        for table in transfer.TABLES:  # every table kb db copy moves exists in both
            assert await db.fetch_all(f"SELECT * FROM {table} LIMIT 1") == []
    finally:
        await db.close()


async def test_concurrent_writes_are_batched_committed_and_a_failing_one_is_undone_alone(target: str | Path) -> None:
    db = Database(target)
    await db.open()

    def put(number: int) -> WriteOp[int]:
        async def op(conn: Conn) -> int:
            await conn.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (f"k{number}", str(number)))
            return number
        return op

    async def failing(conn: Conn) -> None:
        await conn.execute("INSERT INTO kv (key, value) VALUES ('k1', 'duplicate')")

    results = await asyncio.gather(*(db.write(put(n)) for n in range(300)), db.write(failing),
                                   return_exceptions=True)
    assert results[:300] == list(range(300))
    assert isinstance(results[300], sqlite3.IntegrityError | psycopg.IntegrityError)
    row = await db.fetch_one("SELECT count(*), min(updated_at) FROM kv")
    await db.close()
    assert row is not None and row[0] == 300 and row[1].endswith("Z") and len(row[1]) == 24


async def test_a_notification_reaches_a_listener_subscribed_before_it(target: str | Path) -> None:
    db = Database(target)
    await db.open()
    try:
        async with db.listen("content") as notes, db.listen("other") as others:
            await db.notify("content", "abc123")
            assert await asyncio.wait_for(anext(notes), 10) == "abc123"
            await db.notify("other", "")
            assert await asyncio.wait_for(anext(others), 10) == ""
    finally:
        await db.close()


def test_kb_db_migrate_reports_the_schema_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "migrate", "--data-dir", str(tmp_path / "data")]) == 0
    assert f"schema version {migrations()[-1].version}" in capsys.readouterr().out


@pytest.mark.parametrize("database_url", [None])  # the site runs on SQLite, as before a move
def test_kb_db_copy_moves_a_site_to_postgresql_and_refuses_a_non_empty_target(
        make_client: MakeClient, sample_tree: Path, tmp_path: Path, pg_cluster: Cluster,
        capsys: pytest.CaptureFixture[str]) -> None:
    site = make_client(sample_tree)
    add_user(site, "ann", "admin")
    for n in range(3):
        site.cookies.clear()
        site.post("/api/v1/articles/en/support-code-and-vip-code/votes", json={"helpful": n != 1})
    site.get("/en/search?q=vip")
    site.get("/en/articles/support-code-and-vip-code")
    site.__exit__(None, None, None)  # the copy reads a consistent snapshot anyway; this flushes views
    empty = pg_cluster.create_database(migrated=False)
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["db", "copy", "--to", empty, *data]) == 0
    out = capsys.readouterr().out
    assert "votes: 3 rows" in out and "copied and verified" in out and "(3 counted votes" in out

    moved = make_client(sample_tree, database=empty)
    tally = moved.get("/api/v1/articles/en/support-code-and-vip-code/votes").json()
    assert (tally["yes"], tally["no"]) == (2, 1)
    assert login(moved, "ann").status_code == 303  # accounts and their passwords came along
    moved.cookies.clear()
    assert moved.post("/api/v1/articles/en/support-code-and-vip-code/votes", json={"helpful": True}).status_code == 201

    assert main(["db", "copy", "--to", empty, *data]) == 2
    assert "is not empty (votes has rows)" in capsys.readouterr().err
    assert main(["db", "copy", "--to", "mysql://x/y", *data]) == 2
    assert main(["db", "copy", "--to", "postgresql://kb@/absent?host=/nonexistent", *data]) == 2
    assert "cannot connect" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_nodes_on_one_postgresql_share_the_login_and_vote_limits_and_sessions(
        make_client: MakeClient, sample_tree: Path, tmp_path: Path) -> None:
    """An attacker cannot multiply a limit by the number of nodes; a session works on every node
    and a logout on one ends it on all."""
    a = make_client(sample_tree, login_rate_limit=3, vote_rate_limit=2)
    b = make_client(sample_tree, login_rate_limit=3, vote_rate_limit=2, index_dir=tmp_path / "index-b",
                    data_dir=tmp_path / "data-b", secret_key=services_of(a).settings.secret_key)
    add_user(a, "ann", "admin")
    assert [login(node, "ann", "wrong password").status_code for node in (a, b, a)] == [403, 403, 403]
    refused = login(b, "ann")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0

    votes = "/api/v1/articles/en/support-code-and-vip-code/votes"
    b.cookies.update(a.cookies)  # the same visitor on both nodes
    assert a.post(votes, json={"helpful": True}).status_code == 201
    assert b.post(votes, json={"helpful": False}).status_code == 200
    assert a.post(votes, json={"helpful": True}).status_code == 429
    assert b.get(votes).json()["yes"] == 0 and a.get(votes).json()["no"] == 1  # one vote, seen by both


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_session_made_on_one_node_works_on_another_until_logout(
        make_client: MakeClient, sample_tree: Path, tmp_path: Path) -> None:
    a = make_client(sample_tree)
    b = make_client(sample_tree, index_dir=tmp_path / "index-b", data_dir=tmp_path / "data-b",
                    secret_key=services_of(a).settings.secret_key)
    add_user(a, "ann", "admin")
    assert login(a, "ann").status_code == 303
    b.cookies.update(a.cookies)
    assert b.get("/admin/articles").status_code == 200
    page = a.get("/admin/articles")
    assert a.post("/admin/logout", data={"csrf_token": csrf(page.text)}).status_code == 303
    assert b.get("/admin/articles").status_code in (302, 303)  # the session ended on every node


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_shared_rate_limit_admits_exactly_its_limit_across_nodes_and_again_once_events_expire(
        database_url: str) -> None:
    from kb.storage import ratelimits

    nodes = [Database(database_url), Database(database_url)]
    for node in nodes:
        await node.open()
    try:
        limiters = [ratelimits.limiter_for(node, "votes", 40, 1.0) for node in nodes]
        waits = await asyncio.gather(*(ratelimits.hit(limiters[n % 2], "address:10.0.0.7") for n in range(120)))
        assert waits.count(0) == 40 and all(0 < wait <= 1 for wait in waits if wait)
        busy = ratelimits.limiter_for(nodes[0], "logins", 100_000, 60.0)  # thousands of events in the window
        assert await asyncio.gather(*(ratelimits.hit(busy, "address:10.0.0.8") for _ in range(1500))) == [0] * 1500
        await asyncio.sleep(1.1)
        assert await ratelimits.hit(limiters[1], "address:10.0.0.7") == 0  # the window moved on
        counts = await nodes[0].fetch_all(
            "SELECT c.key, c.hits, (SELECT count(*) FROM rate_events AS e WHERE e.key = c.key) FROM rate_counts AS c")
        assert sorted((row[0], row[1]) for row in counts) == [("logins:address:10.0.0.8", 1500),
                                                               ("votes:address:10.0.0.7", 1)]
        assert all(row[1] == row[2] for row in counts)  # the count is the events' own
    finally:
        for node in nodes:
            await node.close()


def test_each_test_gets_a_postgresql_database_without_the_rows_or_schema_changes_of_the_last(
        pg_cluster: Cluster) -> None:
    first = pg_cluster.empty_database()
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("INSERT INTO users (name, password_hash, role) VALUES ('ann', 'x', 'editor')")
    reused = pg_cluster.empty_database()
    assert reused == first  # emptied, not copied again
    with psycopg.connect(reused, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("INSERT INTO users (name, password_hash, role) VALUES ('bo', 'x', 'editor') "
                            "RETURNING id").fetchone() == (1,)
        assert conn.execute("SELECT max(version) FROM kb_schema").fetchone() == (migrations("postgresql")[-1].version,)
    for change in ("ALTER TABLE votes DISABLE TRIGGER ALL", "ALTER TABLE users ADD COLUMN nickname text",
                   "DELETE FROM kb_schema WHERE version = 12",
                   "CREATE OR REPLACE FUNCTION kb_now() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$"):
        with psycopg.connect(reused, autocommit=True) as conn:
            conn.execute(change)
        replaced = pg_cluster.empty_database()
        assert replaced != reused, change
        reused = replaced
