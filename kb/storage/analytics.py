"""Analytics SQL: page views, the daily aggregates, raw rows for drill-downs and exports.

Reports read the *_daily tables (kept exact by the triggers of migration 0006), never the raw
tables, except for one article's votes (through its index) and for exports (streamed by id).
Filters travel as a Scope: a language, and optionally the (article_id, lang) pairs that match
a category/type filter (resolved from the content by the caller).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kb.storage.db import Conn, Database, WriteOp
from kb.storage.dialect import Dialect, pairs

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

    def article_clause(self, dialect: Dialect) -> tuple[str, list[Any]]:
        clauses = ["day BETWEEN ? AND ?"]
        params: list[Any] = [self.since, self.until]
        if self.lang:
            clauses.append("lang = ?")
            params.append(self.lang)
        if self.articles is not None:
            clauses.append(dialect.pairs_in("article_id, lang"))
            params.append(pairs(self.articles))
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

    async def op(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO page_views (day, article_id, lang, visitor) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (day, article_id, lang, visitor),
        )

    return op


# --- headline figures and time series -------------------------------------------------------


async def daily(db: Database, scope: Scope) -> dict[str, dict[str, int]]:
    """Per day: views, yes, no (days without any activity are absent)."""
    where, params = scope.article_clause(db.dialect)
    days: dict[str, dict[str, int]] = {}
    for row in await db.fetch_all(
            f"SELECT day, sum(views), sum(yes), sum(no) FROM article_daily WHERE {where} GROUP BY day", params):
        days[row[0]] = {"views": row[1], "yes": row[2], "no": row[3]}
    return days


async def per_article(db: Database, scope: Scope, split: str | None = None
                      ) -> tuple[dict[tuple[int, str], dict[str, int]], dict[tuple[int, str], dict[str, int]]]:
    """Per (article_id, lang): views, yes, no, comments, in one scan of the scope's days.

    With `split` (a day inside the scope), days before it are the previous period: both
    periods come back from the same scan, (current, previous).
    """
    where, params = scope.article_clause(db.dialect)
    cut = split or scope.since
    current: dict[tuple[int, str], dict[str, int]] = {}
    previous: dict[tuple[int, str], dict[str, int]] = {}

    for row in await db.fetch_all(
            f"SELECT article_id, lang, sum(CASE WHEN day >= ?1 THEN views END), "
            f"sum(CASE WHEN day >= ?1 THEN yes END), sum(CASE WHEN day >= ?1 THEN no END), "
            f"sum(CASE WHEN day >= ?1 THEN comments END), sum(CASE WHEN day < ?1 THEN views END), "
            f"sum(CASE WHEN day < ?1 THEN yes END), sum(CASE WHEN day < ?1 THEN no END), "
            f"sum(CASE WHEN day < ?1 THEN comments END) "
            f"FROM {db.dialect.indexed_by('article_daily', 'article_daily_article')} WHERE {_numbered(where, 2)} "
            f"GROUP BY article_id, lang", [cut, *params]):
        key = (row[0], row[1])
        if row[2] is not None:
            current[key] = {"views": row[2], "yes": row[3], "no": row[4], "comments": row[5]}
        if row[6] is not None:
            previous[key] = {"views": row[6], "yes": row[7], "no": row[8], "comments": row[9]}
    return current, previous


def _numbered(where: str, first: int) -> str:
    """Turn the clause's ? into ?N, ?N+1, ... (so a query can also use ?1 for its own value)."""
    parts = where.split("?")
    return "".join(part + (f"?{first + i}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


# --- one article ------------------------------------------------------------------------------


async def article_daily(db: Database, article_id: int, lang: str, since: str, until: str
                        ) -> dict[str, dict[str, int]]:
    days: dict[str, dict[str, int]] = {}
    for row in await db.fetch_all(
            "SELECT day, views, yes, no FROM article_daily WHERE article_id = ? AND lang = ? AND day BETWEEN ? AND ?",
            (article_id, lang, since, until)):
        days[row[0]] = {"views": row[1], "yes": row[2], "no": row[3]}
    return days


async def article_reasons(db: Database, article_id: int, lang: str, since: str, until: str
                          ) -> list[tuple[str, int]]:
    rows = await db.fetch_all(
        "SELECT reason, sum(n) FROM vote_reasons WHERE article_id = ? AND lang = ? AND day BETWEEN ? AND ? "
        "GROUP BY reason HAVING sum(n) > 0 ORDER BY 2 DESC, 1", (article_id, lang, since, until))
    return [(row[0], row[1]) for row in rows]


async def article_comments(db: Database, article_id: int, lang: str, since: str, until: str, *,
                           helpful: bool | None = None, reason: str | None = None,
                           text: str | None = None, limit: int = 50, offset: int = 0
                           ) -> tuple[int, list[dict[str, Any]]]:
    """Votes with a comment, newest first: (total matching, one page), along the article's
    (article_id, lang, updated_at) index."""
    clauses = ["article_id = ?", "lang = ?", "updated_at >= ?", "updated_at < ?", "COALESCE(comment, '') != ''"]
    params: list[Any] = [article_id, lang, since, _next_day(until)]
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
    if helpful is None and not reason and not text:  # the aggregates know the count
        total = await db.fetch_one(
            "SELECT COALESCE(sum(comments), 0) FROM article_daily WHERE article_id = ? AND lang = ? "
            "AND day BETWEEN ? AND ?", (article_id, lang, since, until))
    else:
        total = await db.fetch_one(f"SELECT count(*) FROM votes WHERE {where}", params)
    rows = await db.fetch_all(
        f"SELECT id, helpful, reason, comment, revision, updated_at FROM votes WHERE {where} "
        f"ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?", [*params, limit, offset])
    return (total[0] if total else 0), [dict(row) for row in rows]


async def article_revisions(db: Database, article_id: int, lang: str) -> list[dict[str, Any]]:
    """Votes per article revision they were cast on, with the revision's first vote."""
    rows = await db.fetch_all(
        "SELECT revision, yes, no, first_vote FROM vote_revisions WHERE article_id = ? AND lang = ?",
        (article_id, lang))
    return [dict(row) for row in rows]


async def revision_history(db: Database, article_id: int, lang: str) -> list[dict[str, Any]]:
    """The editor's revisions of the article (when each went live, who, why), oldest first."""
    marks = ", ".join("?" for _ in LIVE_ACTIONS)
    rows = await db.fetch_all(
        f"SELECT revision, author, message, action, created_at, action IN ({marks}) AS live "
        f"FROM revisions WHERE article_id = ? AND lang = ? ORDER BY created_at, id",
        (*LIVE_ACTIONS, article_id, lang))
    return [dict(row) for row in rows]


# --- searches ---------------------------------------------------------------------------------


LONG_SPAN_DAYS = 28


async def search_report(db: Database, scope: Scope, split: str, *, limit: int, min_searches: int
                        ) -> dict[str, list[dict[str, Any]]]:
    """Top queries, zero-result queries and low click-through queries of the days from `split`
    to the scope's end, with each query's previous-period counts (days before `split`), and the
    totals of both periods (under "total"), in one scan: the (query, lang) groups are built
    once and the lists are read from them.

    A span covering most of the stored days reads the (query, lang)-ordered covering index
    straight through, which needs no sort; a shorter one reads its days by the primary key and
    sorts them, so the cost follows the period, not the age of the database.
    """
    where, params = scope.search_clause()
    stored = await db.fetch_one("SELECT min(day), max(day) FROM search_daily")
    source = "search_daily"
    if stored is not None and stored[0] is not None:
        since, until = max(scope.since, stored[0]), min(scope.until, stored[1])
        span = (date.fromisoformat(until) - date.fromisoformat(since)).days + 1 if since <= until else 0
        stored_days = (date.fromisoformat(stored[1]) - date.fromisoformat(stored[0])).days + 1
        if span >= LONG_SPAN_DAYS and span * 2 >= stored_days:
            source = db.dialect.indexed_by("search_daily", "search_daily_query")
    rows = await db.fetch_all(
        f"""WITH q AS MATERIALIZED (
            SELECT query, lang,
                   sum(CASE WHEN day >= ?1 THEN searches ELSE 0 END) AS searches,
                   sum(CASE WHEN day >= ?1 THEN zero ELSE 0 END) AS zero,
                   sum(CASE WHEN day >= ?1 THEN clicked ELSE 0 END) AS clicked,
                   sum(CASE WHEN day < ?1 THEN searches ELSE 0 END) AS previous_searches,
                   sum(CASE WHEN day < ?1 THEN zero ELSE 0 END) AS previous_zero,
                   sum(CASE WHEN day < ?1 THEN clicked ELSE 0 END) AS previous_clicked
            FROM {source} WHERE {_numbered(where, 4)} GROUP BY query, lang)
        SELECT 'total' AS list, '' AS query, '' AS lang, COALESCE(sum(searches), 0) AS searches,
               COALESCE(sum(zero), 0) AS zero, COALESCE(sum(clicked), 0) AS clicked,
               COALESCE(sum(previous_searches), 0) AS previous_searches,
               COALESCE(sum(previous_zero), 0) AS previous_zero,
               COALESCE(sum(previous_clicked), 0) AS previous_clicked FROM q
        UNION ALL
        SELECT * FROM (SELECT 'top', * FROM q WHERE searches > 0
                       ORDER BY searches DESC, query, lang LIMIT ?2) AS top_queries
        UNION ALL
        SELECT * FROM (SELECT 'zero', * FROM q WHERE zero > 0 ORDER BY zero DESC, searches DESC, query, lang
                       LIMIT ?2) AS zero_queries
        UNION ALL
        SELECT * FROM (SELECT 'ctr', * FROM q WHERE searches >= ?3 AND zero < searches
                       ORDER BY CAST(clicked AS REAL) / searches, searches DESC, query, lang LIMIT ?2)
                       AS ctr_queries""",
        [split, limit, min_searches, *params])
    found: dict[str, list[dict[str, Any]]] = {"total": [], "top": [], "zero": [], "ctr": []}
    for row in rows:
        item = dict(row)
        found[item.pop("list")].append(item)
    return found


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
        clauses.append(db.dialect.pairs_in("article_id, lang"))
        params.append(pairs(scope.articles))
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
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
