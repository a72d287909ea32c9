"""What the analytics pages and the analytics JSON API both read from a request: the period,
filters and options of a report, one article's report, and an export as a streamed download.

The dashboard reads empty form fields as "any"; the API refuses them (api_query), as its
OpenAPI document says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kb.analytics.export import EXPORT_KINDS, FORMATS, csv_chunks, json_chunks
from kb.analytics.model import SORTS, ArticleReport
from kb.analytics.periods import INTERVALS, Filters, Period, parse_date, parse_filters, parse_period
from kb.errors import BadRequest, NotFound
from kb.web.services import int_param, reject_empty, services

MAX_PAGE = 10**6  # of comments
MAX_ID_DIGITS = 18  # an article id beyond this is no id SQLite stores
# Every filter and option of the JSON API; none may be given empty (the dashboard's forms may).
API_PARAMS = ("period", "since", "until", "lang", "category", "type", "interval", "sort", "dir", "limit",
              "offset", "helpful", "reason", "page", "format")


@dataclass(frozen=True)
class Query:
    """The report a request asks for."""

    period: Period
    filters: Filters
    interval: str
    sort: str
    descending: bool

    def params(self) -> dict[str, str]:
        """The query string that reproduces this view."""
        found: dict[str, str] = {}
        if self.period.preset:
            found["period"] = str(self.period.preset)
        else:
            found.update(period="custom", since=self.period.since.isoformat(),
                         until=self.period.until.isoformat())
        found.update(self.filters.query())
        return found


def parse_query(request: Request) -> Query:
    params = request.query_params
    site = services(request).site
    period = parse_period(params.get("period"), params.get("since"), params.get("until"))
    filters = parse_filters(site, params.get("lang"), params.get("category"), params.get("type"))
    # Beyond a month, daily bars get too thin to read: weeks by default.
    interval = params.get("interval") or ("day" if period.days <= 31 else "week")
    if interval not in INTERVALS:
        raise BadRequest(f"interval must be one of {', '.join(INTERVALS)}")
    sort = params.get("sort") or "attention"
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
    direction = params.get("dir") or ("asc" if sort in {"attention", "title"} else "desc")
    if direction not in {"asc", "desc"}:
        raise BadRequest("dir must be asc or desc")
    return Query(period, filters, interval, sort, direction == "desc")


def api_query(request: Request) -> Query:
    """parse_query for the JSON API, which refuses empty parameters."""
    reject_empty(request, *API_PARAMS)
    # The document says since and until are dates: a preset period ignores them, but never
    # accepts one that is not a date.
    for name in ("since", "until"):
        if name in request.query_params:
            parse_date(name, request.query_params[name])
    return parse_query(request)


def href(base: str, params: dict[str, str], **changes: Any) -> str:
    """`base` with `params` as its query string, `changes` applied (None or '' removes one)."""
    merged = {**params, **{k: str(v) for k, v in changes.items() if v not in (None, "")}}
    for key, value in changes.items():
        if value in (None, ""):
            merged.pop(key, None)
    return base + ("?" + urlencode(merged) if merged else "")


async def article_report(request: Request, query: Query, page_size: int) -> ArticleReport:
    """The report of the article {id} (in ?lang=, else its first language), with one page of
    its comments filtered by ?helpful=, ?reason= and ?q=; 404 if it has no content or figures."""
    raw_id = str(request.path_params["id"])
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > MAX_ID_DIGITS:
        raise NotFound("no article with this id")
    article_id = int(raw_id)
    site = services(request).site
    lang = request.query_params.get("lang") or query.filters.lang
    if not lang:
        versions = sorted(a.lang for a in site.content.articles.values() if a.id == article_id)
        lang = versions[0] if versions else ""
    if not lang:
        raise NotFound("no article with this id")
    helpful_raw = request.query_params.get("helpful") or ""
    if helpful_raw not in {"", "yes", "no"}:
        raise BadRequest("helpful must be yes or no")
    text = (request.query_params.get("q") or "").strip()[:200] or None
    reason = (request.query_params.get("reason") or "").strip()[:50] or None
    page = int_param(request, "page", 1, minimum=1, maximum=MAX_PAGE)
    report = await services(request).analytics.article(
        article_id, lang, query.period, interval=query.interval,
        helpful={"": None, "yes": True, "no": False}[helpful_raw], reason=reason, text=text,
        limit=page_size, offset=(page - 1) * page_size)
    if report.article is None and not report.row.votes and not report.row.views and not report.revisions:
        raise NotFound("no article with this id and language")
    return report


def export_response(request: Request, query: Query, kind: str) -> Response:
    """The export `kind` as a CSV (default) or JSON download, streamed, never cached."""
    if kind not in EXPORT_KINDS:
        raise NotFound(f"no export named {kind[:40]!r}; one of {', '.join(EXPORT_KINDS)}")
    fmt = request.query_params.get("format") or "csv"
    if fmt not in FORMATS:
        raise BadRequest("format must be csv or json")
    columns, rows = services(request).analytics.export(kind, query.period, query.filters)
    chunks: AsyncIterator[str] = csv_chunks(columns, rows) if fmt == "csv" else json_chunks(rows)
    name = f"kb-{kind}-{query.period.since.isoformat()}-{query.period.until.isoformat()}.{fmt}"
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return StreamingResponse(chunks, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
