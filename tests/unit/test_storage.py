"""The database: migrations, the single batching writer, durability."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from kb.errors import ConfigError
from kb.storage.db import Database, WriteOp, migrations


async def test_migrations_bring_a_new_database_to_the_latest_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "kb.sqlite3")
    await db.open()
    try:
        row = await db.fetch_one("PRAGMA user_version")
        assert row is not None and row[0] == migrations()[-1].version
        mode = await db.fetch_one("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
    finally:
        await db.close()


async def test_a_database_newer_than_the_code_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 9999")
    db = Database(path)
    with pytest.raises(ConfigError, match="schema version 9999, newer than this kb"):
        await db.open()


async def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a usable kb database"):
        await Database(path).open()


async def test_concurrent_writes_are_batched_and_all_committed(tmp_path: Path) -> None:
    db = Database(tmp_path / "kb.sqlite3")
    await db.open()

    def put(number: int) -> WriteOp[int]:
        async def op(conn: aiosqlite.Connection) -> int:
            await conn.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (f"k{number}", str(number)))
            return number
        return op

    async def failing(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO kv (key, value) VALUES ('k1', 'duplicate')")

    results = await asyncio.gather(*(db.write(put(n)) for n in range(300)), db.write(failing),
                                   return_exceptions=True)
    await db.close()
    assert results[:300] == list(range(300))
    assert isinstance(results[300], sqlite3.IntegrityError)
    with sqlite3.connect(tmp_path / "kb.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM kv").fetchone()[0] == 300


async def test_a_write_that_fails_halfway_is_undone_alone(tmp_path: Path) -> None:
    """Batches run their ops without savepoints first; a failure replays the batch with them."""
    db = Database(tmp_path / "kb.sqlite3")
    await db.open()
    calls: list[str] = []

    def put(key: str) -> WriteOp[str]:
        async def op(conn: aiosqlite.Connection) -> str:
            calls.append(key)
            await conn.execute("INSERT INTO kv (key, value) VALUES (?, 'v')", (key,))
            return key
        return op

    async def halfway(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO kv (key, value) VALUES ('half', 'written')")
        raise ValueError("changed my mind")

    results = await asyncio.gather(db.write(put("a")), db.write(halfway), db.write(put("b")),
                                   return_exceptions=True)
    await db.close()
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], ValueError)
    with sqlite3.connect(tmp_path / "kb.sqlite3") as conn:
        assert sorted(k for (k,) in conn.execute("SELECT key FROM kv")) == ["a", "b"]
    assert calls == ["a", "a", "b"]  # one batch: "a" ran, "halfway" failed, the replay ran "a" and "b"
