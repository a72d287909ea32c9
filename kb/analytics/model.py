"""What a report is made of: figures, points of a series, article, revision and query rows, and
the rules that judge them (the Wilson lower bound, which articles need attention, sort orders).

Plain data computed from the daily aggregates; kb.analytics.reports fills it, the dashboard, the
JSON API and the exports present it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from kb.analytics.periods import INTERVALS, Period
from kb.content.model import Article
from kb.errors import BadRequest
from kb.feedback import REASONS, wilson_lower_bound
from kb.i18n import N_

MIN_VOTES = 10  # below this, a rate says too little to act on
ATTENTION_BOUND = 0.5  # lower bound under 50%: we cannot say most readers are helped
FALLING_POINTS = 0.10  # a drop of 10 points or more against the previous period
SORTS = ("attention", "title", "views", "yes", "no", "votes", "rate", "bound", "vote_rate", "trend",
         "updated")
ARTICLE_COLUMNS = ("article_id", "lang", "slug", "title", "category", "type", "updated", "views", "yes",
                   "no", "votes", "comments", "helpful_rate", "wilson_lower_bound", "vote_rate", "trend",
                   "needs_attention")

NO_REASON = N_("No reason given")

# Counts of one article (or of all) over a period: views, yes, no, comments.
PerArticle = dict[tuple[int, str], dict[str, int]]


def reason_label(reason: str) -> str:
    """The untranslated label of a stored reason key (the feedback area owns the list)."""
    return REASONS.get(reason, reason) if reason else NO_REASON


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def rounded(value: float | None) -> float | None:
    """Rates as exports and the API give them: four decimals (a hundredth of a point)."""
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class Figure:
    """A headline figure of the period, with the previous period's value."""

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
    """One day or week of a series."""

    start: date
    end: date
    views: int
    yes: int
    no: int


@dataclass
class ArticleRow(Helpfulness):
    """One article (in one language) over the period, with the previous period's helpful rate."""

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
        """The row as the articles export and the JSON API give it (ARTICLE_COLUMNS)."""
        return {"article_id": self.article_id, "lang": self.lang, "slug": self.slug, "title": self.title,
                "category": self.category, "type": self.type,
                "updated": self.updated.isoformat() if self.updated else None,
                "views": self.views, "yes": self.yes, "no": self.no, "votes": self.votes,
                "comments": self.comments, "helpful_rate": rounded(self.rate),
                "wilson_lower_bound": rounded(self.bound), "vote_rate": rounded(self.vote_rate),
                "trend": rounded(self.trend), "needs_attention": self.attention}


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
    """One search query (in one language) over the period."""

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
