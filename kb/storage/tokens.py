"""API token SQL: create, revoke, look up by hash, record use. Only a token's hash is stored."""

from __future__ import annotations

from typing import Any

from kb.storage.db import Conn, Database, WriteOp


def create_token(name: str, token_hash: str) -> WriteOp[int]:
    async def op(conn: Conn) -> int:
        row = await conn.fetch_one("INSERT INTO api_tokens (name, token_hash) VALUES (?, ?) RETURNING id",
                                   (name, token_hash))
        return int(row[0]) if row else 0

    return op


def revoke_token(name: str) -> WriteOp[bool]:
    async def op(conn: Conn) -> bool:
        changed = await conn.execute(
            f"UPDATE api_tokens SET revoked_at = {conn.dialect.now} WHERE name = ? AND revoked_at IS NULL", (name,))
        return changed > 0

    return op


def touch_token(token_id: int) -> WriteOp[None]:
    async def op(conn: Conn) -> None:
        await conn.execute(f"UPDATE api_tokens SET last_used_at = {conn.dialect.now} WHERE id = ?", (token_id,))

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
