"""A small fixed data set for the analytics tests; the expected figures are worked out by hand
in tests/test_analytics.py from what is written here.

"Today" is 2026-03-31. The 7-day period is 03-25..03-31, the previous one 03-18..03-24.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import aiosqlite

from kb.storage.analytics import record_view
from kb.storage.db import Database
from tests.conftest import ContentTree

TODAY = date(2026, 3, 31)


def write_content(tree: ContentTree) -> None:
    tree.add("en", "refund-policy", id=1, title="Refund policy", category="refunds", type="faq",
             updated="2026-03-26")
    tree.add("fr", "politique-de-remboursement", id=1, title="Politique de remboursement",
             category="refunds", type="faq", updated="2026-03-01")
    tree.add("en", "reset-password", id=2, title="Reset your password", category="accounts",
             type="tutorial", updated="2026-02-10")
    tree.add("en", "invoices", id=3, title="Invoices", category="billing", type="faq", updated="2026-01-05")


def _vote(article_id: int, lang: str, visitor: str, helpful: int, day: str, revision: str,
          reason: str | None = None, comment: str | None = None) -> tuple[Any, ...]:
    at = f"{day}T10:00:00.000Z"
    return (article_id, lang, "slug", visitor, helpful, reason, comment, revision, at, at)


def _search(query: str, lang: str, results: int, day: str) -> tuple[Any, ...]:
    return (query, lang, None, None, results, 4.0, "v", f"{day}T12:00:00.000Z")


async def load(db: Database, current_revision: str) -> None:
    """Votes, a changed vote, revisions, page views, searches and clicks (see the module doc)."""
    r1, r2 = "r1-old-text", current_revision
    votes = []
    # Article 1 (en), previous period, revision r1: 7 yes, 2 no.
    votes += [_vote(1, "en", f"p{n}", 1, "2026-03-20", r1) for n in range(1, 8)]
    votes += [_vote(1, "en", f"p{n}", 0, "2026-03-21", r1, "incorrect") for n in (8, 9)]
    # Article 1 (en), this period: 3 yes on r1, then 8 no on r2.
    votes += [_vote(1, "en", f"c{n}", 1, "2026-03-25", r1) for n in (1, 2, 3)]
    votes += [_vote(1, "en", f"c{n}", 0, "2026-03-27", r2, "didnt_answer") for n in (4, 5, 6, 7)]
    votes += [_vote(1, "en", f"c{n}", 0, "2026-03-27", r2, "incorrect") for n in (8, 9)]
    votes += [_vote(1, "en", f"c{n}", 0, "2026-03-27", r2) for n in (10, 11)]
    votes += [_vote(2, "en", f"t{n}", 1, "2026-03-29", "x") for n in range(10)]
    votes += [_vote(3, "en", "i1", 1, "2026-03-30", "y"), _vote(3, "en", "i2", 0, "2026-03-30", "y")]
    votes += [_vote(1, "fr", f"f{n}", 1, "2026-03-28", "z") for n in (1, 2)]
    comments = {"p9": "Wrong fee", "c4": "Nothing about refunds to PayPal", "c8": "<script>alert(1)</script>",
                "c10": '=HYPERLINK("http://evil.example")'}
    votes = [v[:6] + (comments.get(v[3]),) + v[7:] for v in votes]

    searches = []
    searches += [_search("refund", "en", 3, "2026-03-27") for _ in range(5)]
    searches += [_search("cancel premium", "en", 0, "2026-03-28") for _ in range(3)]
    searches += [_search("cancel premium", "en", 0, "2026-03-20")]
    searches += [_search("vip code", "en", 2, "2026-03-29") for _ in range(4)]
    searches += [_search("remboursement", "fr", 1, "2026-03-29") for _ in range(2)]

    async def op(conn: aiosqlite.Connection) -> None:
        await conn.executemany(
            "INSERT INTO votes (article_id, lang, slug, visitor, helpful, reason, comment, revision, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", votes)
        # p1 changes their mind on 03-26, after the edit: a yes of last period becomes a no now.
        await conn.execute(
            "UPDATE votes SET helpful = 0, reason = 'didnt_answer', comment = 'Changed my mind', "
            "revision = ?, updated_at = '2026-03-26T08:00:00.000Z' WHERE visitor = 'p1'", (r2,))
        await conn.executemany(
            "INSERT INTO revisions (article_id, lang, slug, path, revision, author, message, action, text, "
            "created_at) VALUES (1, 'en', 'refund-policy', 'en/refunds/refund-policy.md', ?, ?, ?, ?, '', ?)",
            [(r1, "alice", "First version", "create", "2026-03-01T09:00:00.000Z"),
             (r2, "bob", "Shorter answer", "draft", "2026-03-25T15:00:00.000Z"),
             (r2, "bob", "Shorter answer", "publish", "2026-03-26T07:00:00.000Z")])
        await conn.executemany(
            "INSERT INTO searches (query, lang, category, type, results, took_ms, visitor, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", searches)
        # Clicks: two of the five "refund" searches (two results of one), one "remboursement".
        await conn.executemany(
            "INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'v', ?)",
            [(1, "refund", "en", 1, 1, "2026-03-27T12:00:01.000Z"),
             (1, "refund", "en", 2, 2, "2026-03-27T12:00:05.000Z"),
             (2, "refund", "en", 1, 1, "2026-03-27T12:00:09.000Z"),
             (14, "remboursement", "fr", 1, 1, "2026-03-29T12:00:01.000Z")])

    await db.write(op)
    # Page views: 30 visitors on 03-28 and 40 on 03-29 (30 of them again) for article 1 (en);
    # a second view the same day is not counted. 16 views last period.
    views = [("2026-03-28", 1, "en", f"v{n}") for n in range(30)]
    views += [("2026-03-28", 1, "en", "v0")]
    views += [("2026-03-29", 1, "en", f"v{n}") for n in range(40)]
    views += [("2026-03-20", 1, "en", f"v{n}") for n in range(16)]
    views += [("2026-03-29", 2, "en", f"w{n}") for n in range(20)]
    views += [("2026-03-28", 1, "fr", f"x{n}") for n in range(4)]
    for view in views:
        db.write_later(record_view(*view))
    await db.flush()
