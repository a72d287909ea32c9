"""Read-only reports for product teams: which answers help, which fail, what customers search.

Everything here reads the daily aggregates of kb.storage.analytics (one row per day per
article or per query), so a report costs the same with a thousand votes or a million. The
content tree supplies titles, categories and types; the database only knows article ids.
The shapes of a report are in kb.analytics.model, periods and filters in kb.analytics.periods.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from kb.analytics import candidates
from kb.analytics.candidates import Candidate
from kb.analytics.export import EXPORT_KINDS
from kb.analytics.model import (
    ARTICLE_COLUMNS,
    ArticleReport,
    ArticleRow,
    Dashboard,
    Figure,
    PerArticle,
    Point,
    QueryRow,
    RevisionRow,
    SearchReport,
    bucket,
    ratio,
    sort_rows,
)
from kb.analytics.periods import Filters, Period
from kb.content.model import Article
from kb.content.site import Site, article_url
from kb.errors import BadRequest
from kb.storage import analytics as store
from kb.storage.analytics import Scope
from kb.storage.db import Database

T = TypeVar("T")

SEARCH_LIMIT = 20  # queries per search list
SEARCH_MIN = 5  # searches a query needs before its click-through is judged
CACHE_SECONDS = 30.0  # reports may lag the raw rows by this much


class Analytics:
    """Reports over one database and one content tree."""

    def __init__(self, db: Database, site: Site) -> None:
        self.db = db
        self.site = site
        self._index: tuple[object, dict[tuple[int, str], Article]] = (None, {})
        self.cache_seconds = CACHE_SECONDS
        self._cache: dict[Any, tuple[float, Any]] = {}

    def scope(self, period: Period, filters: Filters) -> Scope:
        """The storage scope of a report; a category or type filter becomes the list of the
        matching articles (the database knows ids, not categories)."""
        articles = None
        if filters.category or filters.type:
            articles = tuple(sorted((a.id, a.lang) for a in self._matching(filters)))
        return Scope(period.since.isoformat(), period.until.isoformat(), filters.lang, articles,
                     filters.category, filters.type)

    def _matching(self, filters: Filters) -> list[Article]:
        categories = self.site.descendants(filters.category) if filters.category else None
        return [a for a in self.site.content.articles.values()
                if (categories is None or a.category in categories)
                and (filters.type is None or a.type == filters.type)
                and (filters.lang is None or a.lang == filters.lang)]

    def _both(self, period: Period, filters: Filters) -> tuple[Scope, str]:
        """One scope over the previous period and this one, and the day this one starts."""
        return self.scope(Period(period.previous().since, period.until), filters), period.since.isoformat()

    async def _cached(self, key: Any, compute: Callable[[], Awaitable[T]]) -> T:
        """Aggregates of a scope, reused for `cache_seconds` (a dashboard, its sorted and paged
        variants and its downloads ask for the same figures)."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = await compute()
        if len(self._cache) > 256:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + self.cache_seconds, value)
        return value

    async def _per_article(self, period: Period, filters: Filters) -> tuple[PerArticle, PerArticle]:
        scope, split = self._both(period, filters)
        return await self._cached(("articles", scope, split), lambda: store.per_article(self.db, scope, split))

    async def dashboard(self, period: Period, filters: Filters, *, sort: str = "attention",
                        descending: bool = False, interval: str = "day") -> Dashboard:
        """Everything the dashboard shows, each aggregate read once."""
        per = await self._per_article(period, filters)
        found = await self._search_report(period, filters, SEARCH_LIMIT, SEARCH_MIN)
        return Dashboard(figures=_figures(per, found["total"][0]), points=await self.series(period, filters, interval),
                         rows=self._rows(per, filters, sort, descending), searches=_search_lists(found))

    async def headline(self, period: Period, filters: Filters) -> list[Figure]:
        per = await self._per_article(period, filters)
        found = await self._search_report(period, filters, SEARCH_LIMIT, SEARCH_MIN)
        return _figures(per, found["total"][0])

    async def series(self, period: Period, filters: Filters, interval: str = "day") -> list[Point]:
        days = await store.daily(self.db, self.scope(period, filters))
        return bucket(period, days, interval)

    async def articles(self, period: Period, filters: Filters, *, sort: str = "attention",
                       descending: bool = False) -> list[ArticleRow]:
        return self._rows(await self._per_article(period, filters), filters, sort, descending)

    def _rows(self, per: tuple[PerArticle, PerArticle], filters: Filters, sort: str, descending: bool
              ) -> list[ArticleRow]:
        current, previous = per
        # Every published article is listed, with zeros if nobody read it; an unpublished one
        # only if it has figures (views and votes of before it was unpublished).
        keys = set(current)
        keys.update((a.id, a.lang) for a in self._matching(filters)
                    if a.published or (a.id, a.lang) in current)
        rows = [self._row(key, current.get(key, {}), previous.get(key, {})) for key in keys]
        return sort_rows(rows, sort, descending)

    def _article(self, article_id: int, lang: str) -> Article | None:
        content = self.site.content
        if self._index[0] is not content:  # rebuilt once per content reload
            self._index = (content, {(a.id, a.lang): a for a in content.articles.values()})
        return self._index[1].get((article_id, lang))

    def _row(self, key: tuple[int, str], now: dict[str, int], before: dict[str, int]) -> ArticleRow:
        article = self._article(*key)
        prev_votes = before.get("yes", 0) + before.get("no", 0)
        return ArticleRow(
            article_id=key[0], lang=key[1], slug=article.slug if article else "",
            title=article.title if article else f"#{key[0]}",
            url=article_url(article) if article and article.published else None,
            category=article.category if article else "", type=article.type if article else "",
            updated=article.updated if article else None,
            views=now.get("views", 0), yes=now.get("yes", 0), no=now.get("no", 0),
            comments=now.get("comments", 0),
            previous_rate=ratio(before.get("yes", 0), prev_votes), previous_votes=prev_votes,
        )

    async def article(self, article_id: int, lang: str, period: Period, *, interval: str = "day",
                      helpful: bool | None = None, reason: str | None = None, text: str | None = None,
                      limit: int = 50, offset: int = 0) -> ArticleReport:
        key = (article_id, lang)
        scope = Scope(period.since.isoformat(), period.until.isoformat(), lang, (key,))
        both = Scope(period.previous().since.isoformat(), scope.until, lang, (key,))
        current, previous = await store.per_article(self.db, both, scope.since)
        now, before = current.get(key, {}), previous.get(key, {})
        days = await store.article_daily(self.db, article_id, lang, scope.since, scope.until)
        reasons = await store.article_reasons(self.db, article_id, lang, scope.since, scope.until)
        total, comments = await store.article_comments(
            self.db, article_id, lang, scope.since, scope.until, helpful=helpful, reason=reason, text=text,
            limit=limit, offset=offset)
        article = self._article(article_id, lang)
        return ArticleReport(
            article_id=article_id, lang=lang, article=article, row=self._row(key, now, before),
            series=bucket(period, days, interval), reasons=reasons, comments_total=total,
            comments=comments, revisions=await self.revisions(article_id, lang, article))

    async def revisions(self, article_id: int, lang: str, article: Article | None) -> list[RevisionRow]:
        """Helpfulness per article revision, oldest first, each compared with the one before.

        A revision starts when the editor history says it went live; a revision the history
        does not know (edited outside the editor) starts at its first vote.
        """
        voted = {row["revision"]: row for row in await store.article_revisions(self.db, article_id, lang)}
        history = await store.revision_history(self.db, article_id, lang)
        return revision_rows(voted, history, article.revision if article else None)

    async def _search_report(self, period: Period, filters: Filters, limit: int, min_searches: int
                             ) -> dict[str, list[dict[str, Any]]]:
        scope, split = self._both(period, filters)
        return await self._cached(("queries", scope, split, limit, min_searches), lambda: store.search_report(
            self.db, scope, split, limit=limit, min_searches=min_searches))

    async def searches(self, period: Period, filters: Filters, *, limit: int = SEARCH_LIMIT,
                       min_searches: int = SEARCH_MIN) -> SearchReport:
        return _search_lists(await self._search_report(period, filters, limit, min_searches))

    async def synonym_candidates(self, period: Period, filters: Filters, *, limit: int = candidates.LIMIT
                                 ) -> list[Candidate]:
        """Reformulations of the search log (kb.analytics.candidates), read from the raw log at
        most every `cache_seconds` like the other reports. A dismissal forgets them; an accepted
        one leaves at once (synonyms.yaml is checked on every call)."""
        found = await self._cached(("candidates", period.since, period.until, filters.lang),
                                   lambda: candidates.reformulations(self.db, period, filters))
        return candidates.candidates(found, self.site, limit)

    async def dismiss_candidate(self, lang: str, first: str, second: str, by: str) -> None:
        await candidates.dismiss(self.db, lang, first, second, by)
        self._cache = {key: value for key, value in self._cache.items() if key[0] != "candidates"}

    # --- exports --------------------------------------------------------------------------------

    def export(self, kind: str, period: Period, filters: Filters) -> tuple[tuple[str, ...], AsyncIterator[dict[str, Any]]]:
        """The columns and the rows of one export; rows are streamed."""
        scope = self.scope(period, filters)
        if kind == "votes":
            return store.VOTE_COLUMNS, store.export_votes(self.db, scope)
        if kind == "comments":
            return store.VOTE_COLUMNS, store.export_votes(self.db, scope, comments_only=True)
        if kind == "searches":
            return store.SEARCH_COLUMNS, store.export_searches(self.db, scope)
        if kind == "articles":
            return ARTICLE_COLUMNS, self._article_export(period, filters)
        raise BadRequest(f"kind must be one of {', '.join(EXPORT_KINDS)}")

    async def _article_export(self, period: Period, filters: Filters) -> AsyncIterator[dict[str, Any]]:
        for row in await self.articles(period, filters):
            yield row.export()


def _figures(per: tuple[PerArticle, PerArticle], searches: dict[str, int]) -> list[Figure]:
    """Headline figures of this period and the previous one."""

    def figures(found: PerArticle, prefix: str) -> dict[str, float | None]:
        yes = sum(v["yes"] for v in found.values())
        votes = yes + sum(v["no"] for v in found.values())
        views = sum(v["views"] for v in found.values())
        total = searches[prefix + "searches"]
        return {
            "views": views, "votes": votes, "helpful_rate": ratio(yes, votes),
            "vote_rate": ratio(votes, views), "comments": sum(v["comments"] for v in found.values()),
            "searches": total, "zero_rate": ratio(searches[prefix + "zero"], total),
            "click_through": ratio(searches[prefix + "clicked"], total),
        }

    a, b = figures(per[0], ""), figures(per[1], "previous_")
    rates = {"helpful_rate", "vote_rate", "zero_rate", "click_through"}
    return [Figure(key, a[key], b[key], key in rates) for key in a]


def _search_lists(found: dict[str, list[dict[str, Any]]]) -> SearchReport:
    def rows(name: str, trend: bool = False) -> list[QueryRow]:
        return [QueryRow(r["query"], r["lang"], r["searches"], r["zero"], r["clicked"],
                         r["previous_searches"] if trend else None, r["previous_zero"] if trend else None)
                for r in found[name]]

    return SearchReport(rows("top"), rows("zero", trend=True), rows("ctr"))


def revision_rows(voted: dict[str, dict[str, Any]], history: list[dict[str, Any]], current: str | None
                  ) -> list[RevisionRow]:
    """The rows of Analytics.revisions: `voted` the votes per revision, `history` the editor's
    revisions (oldest first), `current` the revision now on disk (shown even without votes)."""
    live: dict[str, dict[str, Any]] = {}
    for entry in history:  # the entry that made a revision live, else its first one
        known = live.get(entry["revision"])
        if known is None or (entry["live"] and not known["live"]):
            live[entry["revision"]] = entry
    never = "9999"  # sorts after every date: a revision with no start comes last
    starts: list[tuple[str, str]] = []
    for revision in set(voted) | ({current} if current else set()):
        source, first = live.get(revision), voted.get(revision)
        starts.append(((source["created_at"] if source else None)
                       or (first["first_vote"] if first else None) or never, revision))
    result: list[RevisionRow] = []
    for start, revision in sorted(starts):
        counts, source = voted.get(revision), live.get(revision)
        yes = int(counts["yes"] or 0) if counts else 0
        no = int(counts["no"] or 0) if counts else 0
        rate = ratio(yes, yes + no)
        before = next((r.rate for r in reversed(result) if r.rate is not None), None)
        result.append(RevisionRow(
            revision=revision, since=start if start != never else "",
            author=source["author"] if source else None, message=source["message"] if source else None,
            yes=yes, no=no, current=revision == current,
            change=None if rate is None or before is None else rate - before))
    return result
