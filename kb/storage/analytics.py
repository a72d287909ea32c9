"""Analytics SQL: page views, the daily aggregates, raw rows for drill-downs and exports, API tokens.

Reports read the *_daily tables (kept exact by the triggers of migration 0006), never the raw
tables, except for one article's votes (through its index) and for exports (streamed by id).
Filters travel as a Scope: a language, and optionally the (article_id, lang) pairs that match
a category/type filter (resolved from the content by the caller).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from kb.storage.db import Database, WriteOp

EXPORT_PAGE = 5_000
LIVE_ACTIONS = ("create", "save", "publish", "restore", "external")


@dataclass(frozen=True)
class Scope:
    """Which rows a report covers: days [since, until] (ISO dates, inclusive) and filters."""

    since: str
    until: str
    lang: str | None = None
    articles: tuple[tuple[int, str], ...] | None = None  # None: every article
    category: str | None = None  # searches only: the search's own filter
    type: str | None = None

    def article_clause(self) -> tuple[str, list[Any]]:
        clauses = ["day BETWEEN ? AND ?"]
        params: list[Any] = [self.since, self.until]
        if self.lang:
            clauses.append("lang = ?")
            params.append(self.lang)
        if self.articles is not None:
            clauses.append("(article_id, lang) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))")
            params.append(json.dumps([list(pair) for pair in self.articles]))
        return " AND ".join(clauses), params

    def search_clause(self) -> tuple[str, list[Any]]:
        clauses = ["day BETWEEN ? AND ?"]
        params: list[Any] = [self.since, self.until]
        for column, value in (("lang", self.lang), ("category", self.category), ("type", self.type)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        return " AND ".join(clauses), params


# --- recording ------------------------------------------------------------------------------


def record_view(day: str, article_id: int, lang: str, visitor: str) -> WriteOp[None]:
    """The write op for one page view; a second view the same day by the same visitor is ignored."""

    async def op(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT OR IGNORE INTO page_views (day, article_id, lang, visitor) VALUES (?, ?, ?, ?)",
            (day, article_id, lang, visitor),
        )

    return op


# --- headline figures and time series -------------------------------------------------------


async def totals(db: Database, scope: Scope) -> dict[str, int]:
    where, params = scope.article_clause()
    votes = await db.fetch_one(
        f"SELECT COALESCE(sum(yes), 0), COALESCE(sum(no), 0), COALESCE(sum(comments), 0) "
        f"FROM vote_daily WHERE {where}", params)
    views = await db.fetch_one(f"SELECT COALESCE(sum(views), 0) FROM view_daily WHERE {where}", params)
    swhere, sparams = scope.search_clause()
    searches = await db.fetch_one(
        f"SELECT COALESCE(sum(searches), 0), COALESCE(sum(zero), 0), COALESCE(sum(clicked), 0) "
        f"FROM search_daily WHERE {swhere}", sparams)
    assert votes is not None and views is not None and searches is not None
    return {"yes": votes[0], "no": votes[1], "comments": votes[2], "views": views[0],
            "searches": searches[0], "zero": searches[1], "clicked": searches[2]}


async def daily(db: Database, scope: Scope) -> dict[str, dict[str, int]]:
    """Per day: views, yes, no (days without any activity are absent)."""
    where, params = scope.article_clause()
    days: dict[str, dict[str, int]] = {}
    for row in await db.fetch_all(
            f"SELECT day, sum(yes), sum(no) FROM vote_daily WHERE {where} GROUP BY day", params):
        days.setdefault(row[0], {"views": 0, "yes": 0, "no": 0}).update(yes=row[1], no=row[2])
    for row in await db.fetch_all(
            f"SELECT day, sum(views) FROM view_daily WHERE {where} GROUP BY day", params):
        days.setdefault(row[0], {"views": 0, "yes": 0, "no": 0})["views"] = row[1]
    return days


async def per_article(db: Database, scope: Scope) -> dict[tuple[int, str], dict[str, int]]:
    """Per (article_id, lang): views, yes, no, comments over the scope."""
    where, params = scope.article_clause()
    found: dict[tuple[int, str], dict[str, int]] = {}

    def entry(key: tuple[int, str]) -> dict[str, int]:
        return found.setdefault(key, {"views": 0, "yes": 0, "no": 0, "comments": 0})

    for row in await db.fetch_all(
            f"SELECT article_id, lang, sum(yes), sum(no), sum(comments) FROM vote_daily "
            f"WHERE {where} GROUP BY article_id, lang", params):
        entry((row[0], row[1])).update(yes=row[2], no=row[3], comments=row[4])
    for row in await db.fetch_all(
            f"SELECT article_id, lang, sum(views) FROM view_daily WHERE {where} GROUP BY article_id, lang",
            params):
        entry((row[0], row[1]))["views"] = row[2]
    return found


# --- one article ------------------------------------------------------------------------------


async def article_daily(db: Database, article_id: int, lang: str, since: str, until: str
                        ) -> dict[str, dict[str, int]]:
    days: dict[str, dict[str, int]] = {}
    for row in await db.fetch_all(
            "SELECT day, yes, no FROM vote_daily WHERE article_id = ? AND lang = ? AND day BETWEEN ? AND ?",
            (article_id, lang, since, until)):
        days.setdefault(row[0], {"views": 0, "yes": 0, "no": 0}).update(yes=row[1], no=row[2])
    for row in await db.fetch_all(
            "SELECT day, views FROM view_daily WHERE article_id = ? AND lang = ? AND day BETWEEN ? AND ?",
            (article_id, lang, since, until)):
        days.setdefault(row[0], {"views": 0, "yes": 0, "no": 0})["views"] = row[1]
    return days


async def article_reasons(db: Database, article_id: int, lang: str, since: str, until: str
                          ) -> list[tuple[str, int]]:
    rows = await db.fetch_all(
        "SELECT COALESCE(NULLIF(reason, ''), ''), count(*) FROM votes "
        "WHERE article_id = ? AND lang = ? AND helpful = 0 AND substr(updated_at, 1, 10) BETWEEN ? AND ? "
        "GROUP BY 1 ORDER BY 2 DESC, 1", (article_id, lang, since, until))
    return [(row[0], row[1]) for row in rows]


async def article_comments(db: Database, article_id: int, lang: str, since: str, until: str, *,
                           helpful: bool | None = None, reason: str | None = None,
                           text: str | None = None, limit: int = 50, offset: int = 0
                           ) -> tuple[int, list[dict[str, Any]]]:
    """Votes with a comment, newest first: (total matching, one page)."""
    clauses = ["article_id = ?", "lang = ?", "COALESCE(comment, '') != ''",
               "substr(updated_at, 1, 10) BETWEEN ? AND ?"]
    params: list[Any] = [article_id, lang, since, until]
    if helpful is not None:
        clauses.append("helpful = ?")
        params.append(1 if helpful else 0)
    if reason:
        clauses.append("reason = ?")
        params.append(reason)
    if text:
        clauses.append("instr(lower(comment), lower(?)) > 0")
        params.append(text)
    where = " AND ".join(clauses)
    total = await db.fetch_one(f"SELECT count(*) FROM votes WHERE {where}", params)
    rows = await db.fetch_all(
        f"SELECT id, helpful, reason, comment, revision, updated_at FROM votes WHERE {where} "
        f"ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?", [*params, limit, offset])
    return (total[0] if total else 0), [dict(row) for row in rows]


async def article_revisions(db: Database, article_id: int, lang: str) -> list[dict[str, Any]]:
    """Votes grouped by the article revision they were cast on, with the revision's first vote."""
    rows = await db.fetch_all(
        "SELECT revision, sum(helpful != 0) AS yes, sum(helpful = 0) AS no, min(updated_at) AS first_vote "
        "FROM votes WHERE article_id = ? AND lang = ? GROUP BY revision", (article_id, lang))
    return [dict(row) for row in rows]


async def revision_history(db: Database, article_id: int, lang: str) -> list[dict[str, Any]]:
    """The editor's revisions of the article (when each went live, who, why); [] without them."""
    if not await _has_table(db, "revisions"):
        return []
    marks = ", ".join("?" for _ in LIVE_ACTIONS)
    rows = await db.fetch_all(
        f"SELECT revision, author, message, action, created_at, action IN ({marks}) AS live "
        f"FROM revisions WHERE article_id = ? AND lang = ? ORDER BY created_at, id",
        (*LIVE_ACTIONS, article_id, lang))
    return [dict(row) for row in rows]


async def _has_table(db: Database, name: str) -> bool:
    row = await db.fetch_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row is not None


# --- searches ---------------------------------------------------------------------------------


async def search_queries(db: Database, scope: Scope, *, order: str, limit: int,
                         zero_only: bool = False, min_searches: int = 1) -> list[dict[str, Any]]:
    """(query, lang) with searches, zero-result searches and clicked searches over the scope."""
    where, params = scope.search_clause()
    orders = {
        "searches": "searches DESC, query, lang",
        "zero": "zero DESC, searches DESC, query, lang",
        "ctr": "CAST(clicked AS REAL) / searches, searches DESC, query, lang",
    }
    having = ["sum(searches) >= ?"]
    params.append(min_searches)
    if zero_only:
        having.append("sum(zero) > 0")
    if order == "ctr":
        having.append("sum(zero) < sum(searches)")  # queries that found something, yet no click
    rows = await db.fetch_all(
        f"SELECT query, lang, sum(searches) AS searches, sum(zero) AS zero, sum(clicked) AS clicked "
        f"FROM search_daily WHERE {where} GROUP BY query, lang HAVING {' AND '.join(having)} "
        f"ORDER BY {orders[order]} LIMIT ?", [*params, limit])
    return [dict(row) for row in rows]


async def search_counts(db: Database, scope: Scope, keys: Sequence[tuple[str, str]]
                        ) -> dict[tuple[str, str], dict[str, int]]:
    """searches/zero/clicked of the given (query, lang) pairs (for the previous period's trend)."""
    if not keys:
        return {}
    where, params = scope.search_clause()
    rows = await db.fetch_all(
        f"SELECT query, lang, sum(searches), sum(zero), sum(clicked) FROM search_daily WHERE {where} "
        f"AND (query, lang) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?)) GROUP BY query, lang",
        [*params, json.dumps([list(k) for k in keys])])
    return {(row[0], row[1]): {"searches": row[2], "zero": row[3], "clicked": row[4]} for row in rows}


# --- exports (raw rows, streamed in pages by id) ------------------------------------------------

VOTE_COLUMNS = ("id", "article_id", "lang", "slug", "helpful", "reason", "comment", "revision",
                "created_at", "updated_at")
SEARCH_COLUMNS = ("id", "query", "lang", "category", "type", "results", "took_ms", "created_at")


async def export_votes(db: Database, scope: Scope, *, comments_only: bool = False
                       ) -> AsyncIterator[dict[str, Any]]:
    clauses = ["updated_at >= ?", "updated_at < ?"]
    params: list[Any] = [scope.since, _next_day(scope.until)]
    if scope.lang:
        clauses.append("lang = ?")
        params.append(scope.lang)
    if scope.articles is not None:
        clauses.append("(article_id, lang) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))")
        params.append(json.dumps([list(pair) for pair in scope.articles]))
    if comments_only:
        clauses.append("COALESCE(comment, '') != ''")
    async for row in _pages(db, "votes", VOTE_COLUMNS, "updated_at", " AND ".join(clauses), params):
        yield row


async def export_searches(db: Database, scope: Scope) -> AsyncIterator[dict[str, Any]]:
    clauses = ["created_at >= ?", "created_at < ?"]
    params: list[Any] = [scope.since, _next_day(scope.until)]
    for column, value in (("lang", scope.lang), ("category", scope.category), ("type", scope.type)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    async for row in _pages(db, "searches", SEARCH_COLUMNS, "created_at", " AND ".join(clauses), params):
        yield row


async def _pages(db: Database, table: str, columns: Sequence[str], time_column: str, where: str,
                 params: list[Any]) -> AsyncIterator[dict[str, Any]]:
    """Rows in time order, a page at a time along the time index (keyset paging), so a
    million-row export never sits in memory and each page costs the same."""
    after: tuple[str, int] = ("", 0)
    while True:
        rows = await db.fetch_all(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {where} AND ({time_column}, id) > (?, ?) "
            f"ORDER BY {time_column}, id LIMIT ?", [*params, *after, EXPORT_PAGE])
        for row in rows:
            yield dict(row)
        if len(rows) < EXPORT_PAGE:
            return
        after = (rows[-1][time_column], rows[-1]["id"])


def _next_day(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


# --- API tokens ---------------------------------------------------------------------------------


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
