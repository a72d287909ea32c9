"""SQL of the editing area: users, article revisions and pending drafts (migration 0005)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from kb.storage.db import Database

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    password_hash: str
    role: str
    disabled: bool
    session_version: int
    created_at: str


@dataclass(frozen=True)
class NewRevision:
    article_id: int
    lang: str
    slug: str
    path: str
    revision: str
    author: str
    message: str
    action: str
    text: str


@dataclass(frozen=True)
class RevisionRow(NewRevision):
    """A stored revision: what was written, plus its id and time."""

    id: int
    created_at: str


@dataclass(frozen=True)
class PendingRow:
    lang: str
    article_id: int
    slug: str
    text: str | None
    base_revision: str
    review: bool
    author: str
    message: str
    updated_at: str


def _user(row: Any) -> UserRow:
    return UserRow(id=row["id"], name=row["name"], password_hash=row["password_hash"], role=row["role"],
                   disabled=bool(row["disabled"]), session_version=row["session_version"],
                   created_at=row["created_at"])


def _revision(row: Any) -> RevisionRow:
    return RevisionRow(**{key: row[key] for key in RevisionRow.__dataclass_fields__})


def _pending(row: Any) -> PendingRow:
    values = {key: row[key] for key in PendingRow.__dataclass_fields__}
    values["review"] = bool(values["review"])
    return PendingRow(**values)


# --- users ------------------------------------------------------------------------------------

_USER_COLUMNS = "id, name, password_hash, role, disabled, session_version, created_at"


async def insert_user(db: Database, name: str, password_hash: str, role: str) -> int | None:
    """The new user's id, or None when the name is taken (names ignore case)."""
    async def op(conn: aiosqlite.Connection) -> int | None:
        async with conn.execute(
            "INSERT INTO users (name, password_hash, role) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING RETURNING id", (name, password_hash, role),
        ) as cursor:
            row = await cursor.fetchone()
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
    async def op(conn: aiosqlite.Connection) -> UserRow | None:
        async with conn.execute("SELECT role, disabled FROM users WHERE name = ?", (name,)) as cursor:
            before = await cursor.fetchone()
        if before is None:
            return None
        was_admin = before["role"] == "admin" and not before["disabled"]
        stays_admin = (role or before["role"]) == "admin" and not (
            disabled if disabled is not None else before["disabled"])
        if keep_an_admin and was_admin and not stays_admin:
            async with conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 "
                                    "AND name != ?", (name,)) as cursor:
                others = await cursor.fetchone()
            if not others or not others[0]:
                raise LastAdmin("this would leave no enabled admin")
        sets = ["session_version = session_version + 1", f"updated_at = {NOW}"]
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
        async with conn.execute(f"UPDATE users SET {', '.join(sets)} WHERE name = ? RETURNING {_USER_COLUMNS}",
                                (*params, name)) as cursor:
            row = await cursor.fetchone()
        return _user(row) if row else None

    return await db.write(op)


class LastAdmin(Exception):
    """Raised inside the write so the change is rolled back."""


async def end_sessions(db: Database, user_id: int) -> None:
    async def op(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", (user_id,))

    await db.write(op)


# --- revisions and pending drafts -------------------------------------------------------------

_REVISION_COLUMNS = "id, article_id, lang, slug, path, revision, author, message, action, text, created_at"
_PENDING_COLUMNS = "lang, article_id, slug, text, base_revision, review, author, message, updated_at"


async def _insert_revision(conn: aiosqlite.Connection, new: NewRevision) -> int:
    async with conn.execute(
        "INSERT INTO revisions (article_id, lang, slug, path, revision, author, message, action, text) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (new.article_id, new.lang, new.slug, new.path, new.revision, new.author, new.message, new.action,
         new.text),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0])  # type: ignore[index]


async def record(db: Database, revisions: list[NewRevision], *, pending: PendingRow | None = None,
                 clear_pending: tuple[str, int] | None = None) -> list[int]:
    """Store revisions and set or clear the article's pending draft in one transaction."""
    async def op(conn: aiosqlite.Connection) -> list[int]:
        ids = [await _insert_revision(conn, new) for new in revisions]
        if clear_pending is not None:
            await conn.execute("DELETE FROM pending_edits WHERE lang = ? AND article_id = ?", clear_pending)
        if pending is not None:
            await conn.execute(
                f"INSERT INTO pending_edits ({_PENDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {NOW}) "
                "ON CONFLICT (lang, article_id) DO UPDATE SET slug = excluded.slug, text = excluded.text, "
                "base_revision = excluded.base_revision, review = excluded.review, author = excluded.author, "
                "message = excluded.message, updated_at = excluded.updated_at",
                (pending.lang, pending.article_id, pending.slug, pending.text, pending.base_revision,
                 int(pending.review), pending.author, pending.message),
            )
        return ids

    return await db.write(op)


async def revisions_of(db: Database, lang: str, article_id: int) -> list[RevisionRow]:
    """Newest first."""
    rows = await db.fetch_all(
        f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE lang = ? AND article_id = ? ORDER BY id DESC",
        (lang, article_id),
    )
    return [_revision(r) for r in rows]


async def revision(db: Database, revision_id: int) -> RevisionRow | None:
    row = await db.fetch_one(f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE id = ?", (revision_id,))
    return _revision(row) if row else None


async def latest_revision(db: Database, lang: str, article_id: int, *,
                          file_only: bool = False) -> RevisionRow | None:
    """The newest revision; with file_only, the newest that describes the file on disk."""
    where = " AND action NOT IN ('draft', 'review')" if file_only else ""
    row = await db.fetch_one(
        f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE lang = ? AND article_id = ?{where} "
        "ORDER BY id DESC LIMIT 1", (lang, article_id),
    )
    return _revision(row) if row else None


async def last_changes(db: Database) -> dict[tuple[str, int], RevisionRow]:
    """The newest revision of every article, for 'who changed what and when' in lists."""
    rows = await db.fetch_all(
        f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE id IN "
        "(SELECT MAX(id) FROM revisions GROUP BY lang, article_id)"
    )
    return {(r["lang"], r["article_id"]): _revision(r) for r in rows}


async def pending_edit(db: Database, lang: str, article_id: int) -> PendingRow | None:
    row = await db.fetch_one(f"SELECT {_PENDING_COLUMNS} FROM pending_edits WHERE lang = ? AND article_id = ?",
                             (lang, article_id))
    return _pending(row) if row else None


async def all_pending(db: Database) -> dict[tuple[str, int], PendingRow]:
    rows = await db.fetch_all(f"SELECT {_PENDING_COLUMNS} FROM pending_edits")
    return {(r["lang"], r["article_id"]): _pending(r) for r in rows}
