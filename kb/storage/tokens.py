"""API token SQL: create, revoke, look up by hash, record use. Only a token's hash is stored."""

from __future__ import annotations

from typing import Any

import aiosqlite

from kb.storage.db import Database, WriteOp


def create_token(name: str, token_hash: str) -> WriteOp[int]:
    async def op(conn: aiosqlite.Connection) -> int:
        cursor = await conn.execute("INSERT INTO api_tokens (name, token_hash) VALUES (?, ?)", (name, token_hash))
        return int(cursor.lastrowid or 0)

    return op


def revoke_token(name: str) -> WriteOp[bool]:
    async def op(conn: aiosqlite.Connection) -> bool:
        cursor = await conn.execute(
            "UPDATE api_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            "WHERE name = ? AND revoked_at IS NULL", (name,))
        return cursor.rowcount > 0

    return op


def touch_token(token_id: int) -> WriteOp[None]:
    async def op(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE api_tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                           "WHERE id = ?", (token_id,))

    return op


async def token_by_name(db: Database, name: str) -> dict[str, Any] | None:
    row = await db.fetch_one("SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens "
                             "WHERE name = ?", (name,))
    return dict(row) if row else None


async def active_token(db: Database, token_hash: str) -> dict[str, Any] | None:
    row = await db.fetch_one("SELECT id, name FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                             (token_hash,))
    return dict(row) if row else None


async def list_tokens(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetch_all("SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY name")
    return [dict(row) for row in rows]
