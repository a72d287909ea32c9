"""Read-only reports for product teams: which answers help, which fail, what customers search.

Everything here reads the daily aggregates of kb.storage.analytics (one row per day per
article or per query), so a report costs the same with a thousand votes or a million. The
content tree supplies titles, categories and types; the database only knows article ids.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from kb.content.model import ARTICLE_TYPES, Article
from kb.errors import BadRequest
from kb.i18n import N_
from kb.content.site import Site, article_url
from kb.storage import analytics as store
from kb.storage.analytics import Scope
from kb.storage.db import Database

T = TypeVar("T")

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
MAX_DAYS = 731
Z95 = 1.959963984540054
MIN_VOTES = 10  # below this, a rate says too little to act on
ATTENTION_BOUND = 0.5  # lower bound under 50%: we cannot say most readers are helped
FALLING_POINTS = 0.10  # a drop of 10 points or more against the previous period
SEARCH_LIMIT = 20  # queries per search list
SEARCH_MIN = 5  # searches a query needs before its click-through is judged
CACHE_SECONDS = 30.0  # reports may lag the raw rows by this much
EXPORT_KINDS = ("votes", "comments", "articles", "searches")
INTERVALS = ("day", "week")

NO_REASON = N_("No reason given")


def reason_label(reason: str) -> str:
    """The untranslated label of a stored reason key (the feedback area owns the list)."""
    from kb.feedback import REASONS

    return REASONS.get(reason, reason) if reason else NO_REASON

SORTS = ("attention", "title", "views", "yes", "no", "votes", "rate", "bound", "vote_rate", "trend",
         "updated")


def wilson_lower_bound(yes: int, total: int, z: float = Z95) -> float | None:
    """Lower bound of the Wilson score interval: the helpful rate we are 95% sure of."""
    if total <= 0:
        return None
    p = yes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z2 / total))


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- periods and filters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    since: date
    until: date
    preset: int | None = None  # 7, 30, 90, or None for a custom range

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Period:
        return Period(self.since - timedelta(days=self.days), self.since - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range(self.days)]


def today() -> date:
    return datetime.now(UTC).date()


def parse_date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2026-01-31, not {raw[:20]!r}") from None


def parse_period(period: str | None, since: str | None, until: str | None, *, now: date | None = None) -> Period:
    """Last 7/30/90 days up to today, or a custom since..until (both inclusive, UTC days)."""
    now = now or today()
    if period == "custom" or (not period and (since or until)):
        end = parse_date("until", until) if until else now
        start = parse_date("since", since) if since else end - timedelta(days=DEFAULT_PERIOD - 1)
        if start > end:
            raise BadRequest("since must not be after until")
        if (end - start).days + 1 > MAX_DAYS:
            raise BadRequest(f"a period can span at most {MAX_DAYS} days")
        return Period(start, end)
    if period in (None, ""):
        days = DEFAULT_PERIOD
    else:
        try:
            days = int(period)
        except ValueError:
            days = 0
        if days not in PERIODS:
            raise BadRequest(f"period must be one of {', '.join(map(str, PERIODS))}, or give since and until")
    return Period(now - timedelta(days=days - 1), now, days)


@dataclass(frozen=True)
class Filters:
    lang: str | None = None
    category: str | None = None
    type: str | None = None

    def query(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def parse_filters(site: Site, lang: str | None, category: str | None, kind: str | None) -> Filters:
    lang, category, kind = (lang or None), (category or None), (kind or None)
    if lang is not None and lang not in _known_langs(site):
        raise BadRequest(f"unknown lang {lang[:20]!r}")
    if category is not None and category not in site.content.categories:
        raise BadRequest(f"unknown category {category[:60]!r}")
    if kind is not None and kind not in ARTICLE_TYPES:
        raise BadRequest(f"type must be one of {', '.join(ARTICLE_TYPES)}")
    return Filters(lang, category, kind)


def _known_langs(site: Site) -> set[str]:
    return {a.lang for a in site.content.articles.values()} | set(site.languages)


# --- report shapes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    value: float | None
    previous: float | None
    is_rate: bool

    @property
    def change(self) -> float | None:
        """Rates: the difference in points (0.05 = 5 points); counts: the relative change."""
        if self.value is None or self.previous is None:
            return None
        if self.is_rate:
            return self.value - self.previous
        return (self.value - self.previous) / self.previous if self.previous else None


class Helpfulness:
    """Votes, helpful rate and its Wilson lower bound, for anything with yes and no counts."""

    yes: int
    no: int

    @property
    def votes(self) -> int:
        return self.yes + self.no

    @property
    def rate(self) -> float | None:
        return ratio(self.yes, self.votes)

    @property
    def bound(self) -> float | None:
        return wilson_lower_bound(self.yes, self.votes)


@dataclass(frozen=True)
class Point(Helpfulness):
    start: date
    end: date
    views: int
    yes: int
    no: int


@dataclass
class ArticleRow(Helpfulness):
    article_id: int
    lang: str
    slug: str
    title: str
    url: str | None
    category: str
    type: str
    updated: date | None
    views: int
    yes: int
    no: int
    comments: int
    previous_rate: float | None
    previous_votes: int


    @property
    def vote_rate(self) -> float | None:
        return ratio(self.votes, self.views)

    @property
    def trend(self) -> float | None:
        """Change of the helpful rate against the previous period, in points."""
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate

    @property
    def attention(self) -> str | None:
        """Why the article needs attention: 'low' (few readers helped) or 'falling', else None."""
        bound = self.bound
        if self.votes >= MIN_VOTES and bound is not None and bound < ATTENTION_BOUND:
            return "low"
        trend = self.trend
        if (self.votes >= MIN_VOTES and self.previous_votes >= MIN_VOTES and trend is not None
                and trend <= -FALLING_POINTS + 1e-9):  # 0.9 - 1.0 is -0.0999...
            return "falling"
        return None

    def export(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "lang": self.lang, "slug": self.slug, "title": self.title,
                "category": self.category, "type": self.type,
                "updated": self.updated.isoformat() if self.updated else None,
                "views": self.views, "yes": self.yes, "no": self.no, "votes": self.votes,
                "comments": self.comments, "helpful_rate": _round(self.rate),
                "wilson_lower_bound": _round(self.bound), "vote_rate": _round(self.vote_rate),
                "trend": _round(self.trend), "needs_attention": self.attention}


ARTICLE_COLUMNS = ("article_id", "lang", "slug", "title", "category", "type", "updated", "views", "yes",
                   "no", "votes", "comments", "helpful_rate", "wilson_lower_bound", "vote_rate", "trend",
                   "needs_attention")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class RevisionRow(Helpfulness):
    revision: str
    since: str  # when this revision went live (editor history) or got its first vote
    author: str | None
    message: str | None
    yes: int
    no: int
    current: bool
    change: float | None  # helpful rate against the revision before, in points


@dataclass(frozen=True)
class QueryRow:
    query: str
    lang: str
    searches: int
    zero: int
    clicked: int
    previous_searches: int | None = None
    previous_zero: int | None = None

    @property
    def zero_rate(self) -> float | None:
        return ratio(self.zero, self.searches)

    @property
    def ctr(self) -> float | None:
        """Click-through: the share of searches after which a result was opened."""
        return ratio(self.clicked, self.searches)

    @property
    def zero_trend(self) -> int | None:
        return None if self.previous_zero is None else self.zero - self.previous_zero


@dataclass(frozen=True)
class SearchReport:
    top: list[QueryRow]
    zero: list[QueryRow]
    low_ctr: list[QueryRow]


PerArticle = dict[tuple[int, str], dict[str, int]]


@dataclass(frozen=True)
class Dashboard:
    figures: list[Figure]
    points: list[Point]
    rows: list[ArticleRow]
    searches: SearchReport


@dataclass
class ArticleReport:
    article_id: int
    lang: str
    article: Article | None
    row: ArticleRow
    series: list[Point]
    reasons: list[tuple[str, int]]
    comments_total: int
    comments: list[dict[str, Any]]
    revisions: list[RevisionRow] = field(default_factory=list)


# --- the reports --------------------------------------------------------------------------------


class Analytics:
    """Reports over one database and one content tree."""

    def __init__(self, db: Database, site: Site) -> None:
        self.db = db
        self.site = site
        self._index: tuple[object, dict[tuple[int, str], Article]] = (None, {})
        self.cache_seconds = CACHE_SECONDS
        self._cache: dict[Any, tuple[float, Any]] = {}

    def scope(self, period: Period, filters: Filters) -> Scope:
        articles = None
        if filters.category or filters.type:
            categories = self.site.descendants(filters.category) if filters.category else None
            articles = tuple(sorted(
                (a.id, a.lang) for a in self.site.content.articles.values()
                if (categories is None or a.category in categories)
                and (filters.type is None or a.type == filters.type)
                and (filters.lang is None or a.lang == filters.lang)))
        return Scope(period.since.isoformat(), period.until.isoformat(), filters.lang, articles,
                     filters.category, filters.type)

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
        keys = set(current)
        categories = self.site.descendants(filters.category) if filters.category else None
        for article in self.site.content.articles.values():
            if ((filters.lang is None or article.lang == filters.lang)
                    and (filters.type is None or article.type == filters.type)
                    and (categories is None or article.category in categories)
                    and (article.published or (article.id, article.lang) in keys)):
                keys.add((article.id, article.lang))
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
        history: dict[str, dict[str, Any]] = {}
        for entry in await store.revision_history(self.db, article_id, lang):
            known = history.get(entry["revision"])
            if known is None or (entry["live"] and not known["live"]):
                history[entry["revision"]] = entry
        current = article.revision if article else None
        shown = set(voted) | ({current} if current else set())
        rows: list[tuple[str, str, dict[str, Any] | None]] = []
        for revision in shown:
            live = history.get(revision)
            first = voted.get(revision)
            start = (live["created_at"] if live else None) or (first["first_vote"] if first else None) or "9999"
            rows.append((start, revision, live))
        rows.sort(key=lambda r: (r[0], r[1]))
        result: list[RevisionRow] = []
        for start, revision, source in rows:
            counts = voted.get(revision)
            yes = int(counts["yes"] or 0) if counts else 0
            no = int(counts["no"] or 0) if counts else 0
            rate = ratio(yes, yes + no)
            before = next((r.rate for r in reversed(result) if r.rate is not None), None)
            result.append(RevisionRow(
                revision=revision, since=start if start != "9999" else "", author=source["author"] if source else None,
                message=source["message"] if source else None, yes=yes, no=no, current=revision == current,
                change=None if rate is None or before is None else rate - before))
        return result

    async def _search_report(self, period: Period, filters: Filters, limit: int, min_searches: int
                             ) -> dict[str, list[dict[str, Any]]]:
        scope, split = self._both(period, filters)
        return await self._cached(("queries", scope, split, limit, min_searches), lambda: store.search_report(
            self.db, scope, split, limit=limit, min_searches=min_searches))

    async def searches(self, period: Period, filters: Filters, *, limit: int = SEARCH_LIMIT,
                       min_searches: int = SEARCH_MIN) -> SearchReport:
        return _search_lists(await self._search_report(period, filters, limit, min_searches))

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


def bucket(period: Period, days: dict[str, dict[str, int]], interval: str) -> list[Point]:
    """Daily points for every day of the period (zeros included), or Monday-to-Sunday weeks."""
    if interval not in INTERVALS:
        raise BadRequest(f"interval must be one of {', '.join(INTERVALS)}")
    points: list[Point] = []
    for day in period.each_day():
        values = days.get(day.isoformat(), {})
        start = day if interval == "day" else max(period.since, day - timedelta(days=day.weekday()))
        point = Point(start, day, values.get("views", 0), values.get("yes", 0), values.get("no", 0))
        if points and points[-1].start == start:
            last = points[-1]
            point = Point(start, day, last.views + point.views, last.yes + point.yes, last.no + point.no)
            points[-1] = point
        else:
            points.append(point)
    return points


_SORT_KEYS: dict[str, Callable[[ArticleRow], Any]] = {
    "title": lambda r: r.title.lower(), "views": lambda r: r.views, "yes": lambda r: r.yes,
    "no": lambda r: r.no, "votes": lambda r: r.votes, "rate": lambda r: r.rate,
    "bound": lambda r: r.bound, "vote_rate": lambda r: r.vote_rate, "trend": lambda r: r.trend,
    "updated": lambda r: r.updated,
}


def sort_rows(rows: list[ArticleRow], sort: str, descending: bool) -> list[ArticleRow]:
    """Sort by a column, missing values last either way; 'attention' puts flagged rows first,
    the least helpful (lowest lower bound) of them on top, then the rest by lower bound."""
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
    rows = sorted(rows, key=lambda r: (r.title.lower(), r.lang))
    if sort == "attention":
        return sorted(rows, key=lambda r: (r.attention is None, r.bound is None,
                                           r.bound if r.bound is not None else 0, -r.views))
    key = _SORT_KEYS[sort]
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=descending) + missing


# --- export formats ----------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Spreadsheets run cells that start like a formula: visitors' text is neutralised with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


async def csv_chunks(columns: tuple[str, ...], rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    async for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        count += 1
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_chunks(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """A JSON array, written as it streams (no million-row list in memory)."""
    first = True
    parts: list[str] = ["["]
    async for row in rows:
        parts.append(("" if first else ",\n") + json.dumps(row, ensure_ascii=False))
        first = False
        if len(parts) >= 1000:
            yield "".join(parts)
            parts = []
    parts.append("]\n")
    yield "".join(parts)


# --- page views ---------------------------------------------------------------------------------

# Crawlers, monitors, link previews and scripted clients: their visits are not readers'.
_BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|headless|phantomjs|"
    r"lighthouse|pingdom|uptime|monitor|curl|wget|httpie|python-|httpx|aiohttp|go-http-client|"
    r"java/|okhttp|libwww|scrapy|node-fetch|axios", re.IGNORECASE)


def is_bot(user_agent: str | None) -> bool:
    """True for crawlers and scripts (by user agent); a missing user agent is not a browser."""
    return not user_agent or bool(_BOT_RE.search(user_agent))
