"""SQL of the web editor's history: article revisions and pending drafts (migration 0005).

Every version the editor writes or sees is a revision; a published article's unpublished draft
is its one pending row. `record` writes both in one transaction, so history and draft agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.storage.db import Conn, Database


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
    """A published article's unpublished draft, or (text None) a file submitted for review as it is."""

    lang: str
    article_id: int
    slug: str
    text: str | None
    base_revision: str
    review: bool
    author: str
    message: str
    updated_at: str


def _revision(row: Any) -> RevisionRow:
    return RevisionRow(**{key: row[key] for key in RevisionRow.__dataclass_fields__})


def _pending(row: Any) -> PendingRow:
    values = {key: row[key] for key in PendingRow.__dataclass_fields__}
    values["review"] = bool(values["review"])
    return PendingRow(**values)


_REVISION_COLUMNS = "id, article_id, lang, slug, path, revision, author, message, action, text, created_at"
_PENDING_COLUMNS = "lang, article_id, slug, text, base_revision, review, author, message, updated_at"


async def _insert_revision(conn: Conn, new: NewRevision) -> int:
    row = await conn.fetch_one(
        "INSERT INTO revisions (article_id, lang, slug, path, revision, author, message, action, text) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (new.article_id, new.lang, new.slug, new.path, new.revision, new.author, new.message, new.action,
         new.text))
    assert row is not None  # RETURNING gives the inserted row
    return int(row[0])


async def record(db: Database, revisions: list[NewRevision], *, pending: PendingRow | None = None,
                 clear_pending: tuple[str, int] | None = None) -> list[int]:
    """Store revisions and set or clear the article's pending draft in one transaction."""
    async def op(conn: Conn) -> list[int]:
        ids = [await _insert_revision(conn, new) for new in revisions]
        if clear_pending is not None:
            await conn.execute("DELETE FROM pending_edits WHERE lang = ? AND article_id = ?", clear_pending)
        if pending is not None:
            await conn.execute(
                f"INSERT INTO pending_edits ({_PENDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {conn.dialect.now}) "
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
