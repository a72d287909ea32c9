"""Which days and which articles a report covers: the Period and the Filters, parsed from the
query string of the dashboard, the JSON API and the CLI (bad values are a BadRequest naming them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from kb.content.model import check_filters
from kb.content.site import Site
from kb.errors import BadRequest

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
MAX_DAYS = 731  # two years and a leap day: a year-on-year comparison still fits
INTERVALS = ("day", "week")


@dataclass(frozen=True)
class Period:
    """Days since..until, both inclusive (UTC)."""

    since: date
    until: date
    preset: int | None = None  # 7, 30, 90, or None for a custom range

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (what a trend compares with)."""
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
        return _custom_period(since, until, now)
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


def _custom_period(since: str | None, until: str | None, now: date) -> Period:
    end = parse_date("until", until) if until else now
    start = parse_date("since", since) if since else end - timedelta(days=DEFAULT_PERIOD - 1)
    if start > end:
        raise BadRequest("since must not be after until")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"a period can span at most {MAX_DAYS} days")
    return Period(start, end)


@dataclass(frozen=True)
class Filters:
    """Which articles a report covers; None is every value. A category includes its descendants."""

    lang: str | None = None
    category: str | None = None
    type: str | None = None

    def query(self) -> dict[str, str]:
        """The query-string parameters that reproduce these filters."""
        return {k: v for k, v in asdict(self).items() if v}


def parse_filters(site: Site, lang: str | None, category: str | None, kind: str | None) -> Filters:
    lang, category, kind = (lang or None), (category or None), (kind or None)
    known = sorted(_known_langs(site)) if lang is not None else []  # a scan of every article
    check_filters(site.content.categories, category, kind, lang=lang, languages=known)
    return Filters(lang, category, kind)


def _known_langs(site: Site) -> set[str]:
    # Also the languages of unpublished articles: their views and votes are still reported.
    return {a.lang for a in site.content.articles.values()} | set(site.languages)
