"""SQL of the accounts: users, their roles and session versions (migration 0005)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.storage.db import Conn, Database


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    password_hash: str
    role: str
    disabled: bool
    session_version: int
    created_at: str


def _user(row: Any) -> UserRow:
    return UserRow(id=row["id"], name=row["name"], password_hash=row["password_hash"], role=row["role"],
                   disabled=bool(row["disabled"]), session_version=row["session_version"],
                   created_at=row["created_at"])


_USER_COLUMNS = "id, name, password_hash, role, disabled, session_version, created_at"


async def insert_user(db: Database, name: str, password_hash: str, role: str) -> int | None:
    """The new user's id, or None when the name is taken (names ignore case)."""
    async def op(conn: Conn) -> int | None:
        row = await conn.fetch_one(
            "INSERT INTO users (name, password_hash, role) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING RETURNING id", (name, password_hash, role))
        return int(row[0]) if row else None

    return await db.write(op)


async def user_by_name(db: Database, name: str) -> UserRow | None:
    row = await db.fetch_one(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,))
    return _user(row) if row else None


async def user_by_id(db: Database, user_id: int) -> UserRow | None:
    row = await db.fetch_one(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
    return _user(row) if row else None


async def all_users(db: Database) -> list[UserRow]:
    return [_user(r) for r in await db.fetch_all(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")]


async def update_user(db: Database, name: str, *, role: str | None = None, disabled: bool | None = None,
                      password_hash: str | None = None, keep_an_admin: bool = True) -> UserRow | None:
    """Change a user and end their sessions; None when no such user.

    With keep_an_admin, a change that would leave no enabled admin raises LastAdmin, checked in
    the same transaction as the change so two concurrent demotions cannot both pass.
    """
    async def op(conn: Conn) -> UserRow | None:
        before = await conn.fetch_one("SELECT role, disabled FROM users WHERE name = ?", (name,))
        if before is None:
            return None
        was_admin = before["role"] == "admin" and not before["disabled"]
        stays_admin = (role or before["role"]) == "admin" and not (
            disabled if disabled is not None else before["disabled"])
        if keep_an_admin and was_admin and not stays_admin:
            others = await conn.fetch_one("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 "
                                          "AND name != ?", (name,))
            if not others or not others[0]:
                raise LastAdmin("this would leave no enabled admin")
        sets = ["session_version = session_version + 1", f"updated_at = {conn.dialect.now}"]
        params: list[Any] = []
        if role is not None:
            sets.append("role = ?")
            params.append(role)
        if disabled is not None:
            sets.append("disabled = ?")
            params.append(int(disabled))
        if password_hash is not None:
            sets.append("password_hash = ?")
            params.append(password_hash)
        row = await conn.fetch_one(f"UPDATE users SET {', '.join(sets)} WHERE name = ? RETURNING {_USER_COLUMNS}",
                                   (*params, name))
        return _user(row) if row else None

    return await db.write(op)


class LastAdmin(Exception):
    """Raised inside the write so the change is rolled back."""


async def end_sessions(db: Database, user_id: int) -> None:
    async def op(conn: Conn) -> None:
        await conn.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", (user_id,))

    await db.write(op)
