"""Analytics reports against a small fixed data set, every figure worked out by hand.

The data set is in tests/analytics_data.py. In the 7 days 03-25..03-31:
- article 1 (en): 3 yes + 9 no (8 new no, and p1 who changed a yes of last period to no);
  70 views; comments from c4, c8, c10 and p1. Last period: 6 yes, 2 no, 16 views.
- article 2 (en): 10 yes, 20 views.  article 3 (en): 1 yes, 1 no.  article 1 (fr): 2 yes, 4 views.
Wilson lower bounds (z = 1.96), by hand, (p + z²/2n - z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n):
- 3/12: (0.25 + 0.16006 - 1.96·0.149313) / 1.32012 = 0.08894
- 10/10: (1 + 0.19208 - 1.96·0.098) / 1.38416 = 1 / 1.38416 = 0.72246
- 9/11: (0.81818 + 0.17461 - 1.96·0.146495) / 1.34923 = 0.52302
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiosqlite
import pytest

from kb.analytics.export import csv_chunks, json_chunks
from kb.analytics.periods import Filters, Period, parse_filters, parse_period
from kb.analytics.reports import Analytics
from kb.content.site import Site
from kb.errors import BadRequest
from kb.feedback import wilson_lower_bound
from kb.storage.analytics import record_view
from kb.storage.db import Database
from tests.analytics_data import TODAY, load, write_content
from tests.conftest import DIALECTS, ContentTree, database_for

WEEK = Period(date(2026, 3, 25), date(2026, 3, 31), 7)


# Every report is SQL over the aggregates the triggers keep: each test runs on both databases.
database_url = pytest.fixture(params=DIALECTS)(database_for)


@pytest.fixture
async def reports(tree: ContentTree, tmp_path: Path, database_url: str | None) -> AsyncIterator[Analytics]:
    write_content(tree)
    site = Site(tree.root)
    site.load()
    db = Database(database_url or tmp_path / "kb.sqlite3")
    await db.open()
    await load(db, site.article("en", "refund-policy").revision)
    yield Analytics(db, site)
    await db.close()


def test_wilson_lower_bound_matches_hand_computed_values() -> None:
    assert wilson_lower_bound(3, 12) == pytest.approx(0.08894, abs=1e-5)
    assert wilson_lower_bound(10, 10) == pytest.approx(0.72246, abs=1e-5)
    assert wilson_lower_bound(9, 11) == pytest.approx(0.52302, abs=1e-5)
    assert wilson_lower_bound(0, 9) == 0.0
    assert wilson_lower_bound(0, 0) is None


def test_periods_are_whole_utc_days_with_a_previous_period_of_the_same_length() -> None:
    assert parse_period("7", None, None, now=TODAY) == WEEK
    assert WEEK.previous() == Period(date(2026, 3, 18), date(2026, 3, 24))
    assert parse_period(None, None, None, now=TODAY).days == 30
    custom = parse_period("custom", "2026-01-01", "2026-01-10", now=TODAY)
    assert parse_period(None, "2026-01-01", "2026-01-10", now=TODAY) == custom
    assert parse_period("7", "2026-01-01", "2026-01-10", now=TODAY) == WEEK  # a preset wins
    assert (custom.since, custom.until, custom.preset) == (date(2026, 1, 1), date(2026, 1, 10), None)
    assert custom.previous() == Period(date(2025, 12, 22), date(2025, 12, 31))
    for bad in [("5", None, None), ("abc", None, None), (None, "2026-02-01", "2026-01-01"),
                (None, "yesterday", None), (None, "2020-01-01", "2026-01-01")]:
        with pytest.raises(BadRequest):
            parse_period(*bad, now=TODAY)


async def test_headline_figures_and_their_previous_period(reports: Analytics) -> None:
    figures = {f.key: f for f in await reports.headline(WEEK, Filters())}
    assert figures["views"].value == 94 and figures["views"].previous == 16
    assert figures["views"].change == pytest.approx((94 - 16) / 16)
    assert figures["votes"].value == 26 and figures["votes"].previous == 8
    assert figures["helpful_rate"].value == pytest.approx(16 / 26)
    assert figures["helpful_rate"].previous == pytest.approx(6 / 8)
    assert figures["helpful_rate"].change == pytest.approx(16 / 26 - 6 / 8)  # in points
    assert figures["vote_rate"].value == pytest.approx(26 / 94)
    assert figures["comments"].value == 4 and figures["comments"].previous == 1  # p9's
    assert figures["searches"].value == 14 and figures["searches"].previous == 1
    assert figures["zero_rate"].value == pytest.approx(3 / 14) and figures["zero_rate"].previous == 1.0
    # Three searches had a click: "refund" #1 (clicked twice, counted once), #2, "remboursement".
    assert figures["click_through"].value == pytest.approx(3 / 14)


async def test_filters_by_language_category_and_type(reports: Analytics) -> None:
    async def figures(**filters: str) -> dict[str, float | None]:
        return {f.key: f.value for f in await reports.headline(WEEK, Filters(**filters))}

    french = await figures(lang="fr")
    assert (french["views"], french["votes"], french["helpful_rate"]) == (4, 2, 1.0)
    assert french["searches"] == 2 and french["click_through"] == 0.5
    # billing includes its sub-category refunds: article 1 (en, fr) and article 3.
    billing = await figures(category="billing")
    assert (billing["views"], billing["votes"], billing["helpful_rate"]) == (74, 16, 6 / 16)
    tutorials = await figures(type="tutorial")
    assert (tutorials["views"], tutorials["votes"], tutorials["comments"]) == (20, 10, 0)
    english_refunds = await figures(lang="en", category="refunds")
    assert (english_refunds["views"], english_refunds["votes"]) == (70, 12)
    with pytest.raises(BadRequest):
        parse_filters(reports.site, "de", None, None)
    with pytest.raises(BadRequest):
        parse_filters(reports.site, None, "nope", None)
    with pytest.raises(BadRequest):
        parse_filters(reports.site, None, None, "podcast")


async def test_daily_and_weekly_series(reports: Analytics) -> None:
    daily = await reports.series(WEEK, Filters())
    assert [p.start.isoformat() for p in daily] == [f"2026-03-{d}" for d in range(25, 32)]
    assert [(p.views, p.yes, p.no) for p in daily] == [
        (0, 3, 0), (0, 0, 1), (0, 0, 8), (34, 2, 0), (60, 10, 0), (0, 1, 1), (0, 0, 0)]
    assert daily[0].rate == 1.0 and daily[-1].rate is None
    # Weeks run Monday to Sunday: Wed 25 .. Sun 29, then Mon 30 .. Tue 31.
    weekly = await reports.series(WEEK, Filters(), "week")
    assert [(p.start.day, p.end.day, p.views, p.yes, p.no) for p in weekly] == [
        (25, 29, 94, 15, 9), (30, 31, 0, 1, 1)]


async def test_articles_table_needs_attention_first(reports: Analytics) -> None:
    rows = await reports.articles(WEEK, Filters())
    assert [(r.article_id, r.lang) for r in rows] == [(1, "en"), (3, "en"), (1, "fr"), (2, "en")]
    refund = rows[0]
    assert (refund.views, refund.yes, refund.no, refund.comments) == (70, 3, 9, 4)
    assert refund.rate == pytest.approx(0.25)
    assert refund.bound == pytest.approx(0.08894, abs=1e-5)
    assert refund.vote_rate == pytest.approx(12 / 70)
    assert refund.previous_rate == pytest.approx(0.75) and refund.trend == pytest.approx(-0.5)
    assert refund.attention == "low"
    assert refund.updated == date(2026, 3, 26) and refund.url == "/en/articles/refund-policy"
    password = rows[3]
    assert password.bound == pytest.approx(0.72246, abs=1e-5) and password.attention is None
    assert rows[1].attention is None  # 1 of 2: too few votes to judge


async def test_articles_table_sorts_by_any_column_with_missing_values_last(reports: Analytics) -> None:
    by_views = await reports.articles(WEEK, Filters(), sort="views", descending=True)
    assert [r.views for r in by_views] == [70, 20, 4, 0]
    by_rate = await reports.articles(WEEK, Filters(), sort="rate")
    assert [r.rate for r in by_rate] == [0.25, 0.5, 1.0, 1.0]
    by_vote_rate = await reports.articles(WEEK, Filters(), sort="vote_rate", descending=True)
    assert [r.article_id for r in by_vote_rate][-1] == 3  # no views: no vote rate, last
    by_title = await reports.articles(WEEK, Filters(lang="en"), sort="title")
    assert [r.title for r in by_title] == ["Invoices", "Refund policy", "Reset your password"]
    with pytest.raises(BadRequest):
        await reports.articles(WEEK, Filters(), sort="nope")


async def test_a_falling_rate_needs_attention_even_when_still_high(tree: ContentTree, tmp_path: Path,
                                                                  database_url: str | None) -> None:
    tree.add("en", "steady", id=9, category="billing")
    site = Site(tree.root)
    site.load()
    db = Database(database_url or tmp_path / "kb.sqlite3")
    await db.open()
    try:
        async def op(conn: aiosqlite.Connection) -> None:
            rows = [(9, "en", "steady", f"a{n}", 1, f"2026-03-2{n % 3}T10:00:00Z") for n in range(20)]
            rows += [(9, "en", "steady", f"b{n}", int(n < 18), "2026-03-30T10:00:00Z") for n in range(20)]
            await conn.executemany(
                "INSERT INTO votes (article_id, lang, slug, visitor, helpful, revision, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'r', ?, ?)", [r + (r[-1],) for r in rows])

        await db.write(op)
        row = (await Analytics(db, site).articles(WEEK, Filters()))[0]
        # 100% last period, 90% now: the lower bound (0.699) is fine, the fall of 10 points is not.
        assert row.rate == pytest.approx(0.9) and row.trend == pytest.approx(-0.1)
        assert row.bound == pytest.approx(0.69897, abs=1e-5)
        assert row.attention == "falling"
    finally:
        await db.close()


async def test_drill_down_reasons_comments_and_series(reports: Analytics) -> None:
    report = await reports.article(1, "en", WEEK)
    assert report.article is not None and report.article.slug == "refund-policy"
    assert (report.row.yes, report.row.no) == (3, 9)
    assert report.reasons == [("didnt_answer", 5), ("", 2), ("incorrect", 2)]
    assert report.comments_total == 4
    # Newest first; c4, c8 and c10 share a time, so the later vote (c10) comes first.
    assert [c["comment"] for c in report.comments] == [
        '=HYPERLINK("http://evil.example")', "<script>alert(1)</script>", "Nothing about refunds to PayPal",
        "Changed my mind"]
    assert [(p.yes, p.no) for p in report.series] == [(3, 0), (0, 1), (0, 8), (0, 0), (0, 0), (0, 0), (0, 0)]
    assert [p.views for p in report.series] == [0, 0, 0, 30, 40, 0, 0]


async def test_drill_down_comments_are_filterable(reports: Analytics) -> None:
    found = await reports.article(1, "en", WEEK, reason="incorrect")
    assert [c["comment"] for c in found.comments] == ["<script>alert(1)</script>"]
    found = await reports.article(1, "en", WEEK, text="PAYPAL")
    assert found.comments_total == 1 and found.comments[0]["reason"] == "didnt_answer"
    found = await reports.article(1, "en", WEEK, helpful=True)
    assert found.comments_total == 0
    paged = await reports.article(1, "en", WEEK, limit=2, offset=2)
    assert paged.comments_total == 4 and len(paged.comments) == 2


async def test_helpfulness_before_and_after_each_revision(reports: Analytics) -> None:
    revisions = await reports.revisions(1, "en", reports.site.article("en", "refund-policy"))
    assert len(revisions) == 2
    before, after = revisions
    # r1: p2..p7 and c1..c3 yes (9), p8 and p9 no (2); it went live on 03-01 (created by alice).
    assert (before.revision, before.yes, before.no, before.author) == ("r1-old-text", 9, 2, "alice")
    assert before.since.startswith("2026-03-01") and not before.current
    assert before.bound == pytest.approx(0.52302, abs=1e-5)
    # r2 went live when bob published it (not when he saved the draft): c4..c11 and p1, all no.
    assert (after.yes, after.no, after.author, after.message) == (0, 9, "bob", "Shorter answer")
    assert after.since.startswith("2026-03-26T07") and after.current
    assert after.change == pytest.approx(0 - 9 / 11)


async def test_revisions_unknown_to_the_editor_start_at_their_first_vote(reports: Analytics) -> None:
    revisions = await reports.revisions(3, "en", reports.site.article("en", "invoices"))
    voted = next(r for r in revisions if r.revision == "y")
    assert voted.since == "2026-03-30T10:00:00.000Z" and voted.author is None
    current = next(r for r in revisions if r.current)
    assert current.votes == 0 and current.since == ""


async def test_search_reports(reports: Analytics) -> None:
    found = await reports.searches(WEEK, Filters(), min_searches=2)
    assert [(q.query, q.searches) for q in found.top] == [
        ("refund", 5), ("vip code", 4), ("cancel premium", 3), ("remboursement", 2)]
    assert [(q.query, q.zero, q.previous_zero, q.zero_trend) for q in found.zero] == [
        ("cancel premium", 3, 1, 2)]
    assert [(q.query, q.ctr) for q in found.low_ctr] == [
        ("vip code", 0.0), ("refund", 0.4), ("remboursement", 0.5)]
    french = await reports.searches(WEEK, Filters(lang="fr"), min_searches=2)
    assert [q.query for q in french.top] == ["remboursement"] and french.zero == []


async def test_votes_changed_or_deleted_keep_the_aggregates_exact(reports: Analytics) -> None:
    async def change(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE votes SET helpful = 1, updated_at = '2026-03-31T09:00:00Z' WHERE visitor = 'c4'")
        await conn.execute("DELETE FROM votes WHERE visitor = 'c5'")

    await reports.db.write(change)
    row = next(r for r in await reports.articles(WEEK, Filters()) if (r.article_id, r.lang) == (1, "en"))
    assert (row.yes, row.no, row.comments) == (4, 7, 4)
    raw = await reports.db.fetch_one(
        "SELECT sum(helpful), sum(1 - helpful) FROM votes WHERE article_id = 1 AND lang = 'en' "
        "AND updated_at >= '2026-03-25'")
    assert raw is not None and (raw[0], raw[1]) == (4, 7)
    report = await reports.article(1, "en", WEEK)
    assert report.reasons == [("didnt_answer", 3), ("", 2), ("incorrect", 2)]  # was 5: c4 now yes, c5 gone
    after = next(r for r in report.revisions if r.current)
    assert (after.yes, after.no) == (1, 7)


async def test_one_view_per_visitor_per_article_per_day(reports: Analytics) -> None:
    for _ in range(3):
        reports.db.write_later(record_view("2026-03-31", 3, "en", "same"))
    reports.db.write_later(record_view("2026-03-31", 3, "en", "other"))
    await reports.db.flush()
    rows = await reports.articles(WEEK, Filters(lang="en"), sort="title")
    assert rows[0].title == "Invoices" and rows[0].views == 2


async def test_exports_parse_back_to_the_same_rows(reports: Analytics) -> None:
    columns, rows = reports.export("votes", WEEK, Filters(lang="en"))
    expected = [r async for r in reports.export("votes", WEEK, Filters(lang="en"))[1]]
    text = "".join([chunk async for chunk in csv_chunks(columns, rows)])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == len(expected) == 24
    for got, want in zip(parsed, expected, strict=True):
        for column in columns:
            value = want[column]
            shown = "" if value is None else str(value)
            if shown.startswith("="):
                shown = "'" + shown  # spreadsheets must not run a visitor's formula
            assert got[column] == shown
    assert not any("visitor" in c for c in columns)  # the visitor hash stays in the database

    columns, rows = reports.export("comments", WEEK, Filters())
    as_json = json.loads("".join([chunk async for chunk in json_chunks(rows)]))
    assert sorted(r["comment"] for r in as_json) == sorted([
        "Nothing about refunds to PayPal", "<script>alert(1)</script>", '=HYPERLINK("http://evil.example")',
        "Changed my mind"])

    columns, rows = reports.export("articles", WEEK, Filters())
    articles = json.loads("".join([chunk async for chunk in json_chunks(rows)]))
    assert articles[0]["article_id"] == 1 and articles[0]["wilson_lower_bound"] == pytest.approx(0.0889, abs=1e-4)
    assert articles[0]["needs_attention"] == "low"

    columns, rows = reports.export("searches", WEEK, Filters(lang="en"))
    searches = list(csv.DictReader(io.StringIO("".join([c async for c in csv_chunks(columns, rows)]))))
    assert len(searches) == 12 and {s["query"] for s in searches} == {"refund", "cancel premium", "vip code"}
    with pytest.raises(BadRequest):
        reports.export("visitors", WEEK, Filters())


async def test_long_periods_read_the_query_index_and_agree(reports: Analytics) -> None:
    """A month (with its previous month) spans more than the stored days: the report reads the
    (query, lang) covering index instead of the day-ordered table, with the same results."""
    month = Period(date(2026, 3, 2), date(2026, 3, 31))
    found = await reports.searches(month, Filters(), min_searches=2)
    assert [(q.query, q.searches) for q in found.top] == [
        ("refund", 5), ("cancel premium", 4), ("vip code", 4), ("remboursement", 2)]
    assert [(q.query, q.zero, q.previous_zero) for q in found.zero] == [("cancel premium", 4, 0)]
    figures = {f.key: f for f in await reports.headline(month, Filters())}
    assert figures["searches"].value == 15 and figures["zero_rate"].value == pytest.approx(4 / 15)
    if reports.db.dialect.name != "sqlite":
        return  # PostgreSQL's planner picks its index by itself (Dialect.indexed_by)
    plan = await reports.db.fetch_all(
        "EXPLAIN QUERY PLAN SELECT query FROM search_daily INDEXED BY search_daily_query GROUP BY query, lang")
    assert "COVERING INDEX search_daily_query" in " ".join(str(tuple(r)) for r in plan)
