"""Analytics for product teams: /admin/analytics (analyst, admin), downloads, /api/v1/analytics/*
(API tokens), and the page-view hook of article pages. Thin: parse, call kb.analytics, render."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.numbers import format_decimal, format_percent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kb import i18n
from kb.analytics.reports import (
    EXPORT_KINDS,
    INTERVALS,
    PERIODS,
    SORTS,
    Analytics,
    ArticleReport,
    ArticleRow,
    Figure,
    Filters,
    Period,
    Point,
    QueryRow,
    RevisionRow,
    csv_chunks,
    is_bot,
    json_chunks,
    parse_date,
    parse_filters,
    parse_period,
    reason_label,
)
from kb.auth import EDITING_ROLES, require_role
from kb.content.model import ARTICLE_TYPES, Article
from kb.errors import BadRequest, NotFound
from kb.i18n import N_
from kb.content.site import Site
from kb.storage.analytics import record_view
from kb.storage.db import Database
from kb.tokens import Tokens
from kb.web.routes.admin import edit_url, render, ui_lang
from kb.web.security import visitor_hash, visitor_id
from kb.web.openapi import CATEGORY, LANG
from kb.web.services import int_param, reject_empty, services

ROLES = ("analyst", "admin")
PAGE_SIZE = 50
COMMENTS_PAGE = 20
MAX_PAGE = 10**6  # of comments, in the API
MAX_OFFSET = 10**7  # of articles, in the API
NAV_ENTRY = ("/admin/analytics", N_("Analytics"), ROLES)

FIGURE_LABELS = {
    "views": N_("Views"), "votes": N_("Votes"), "helpful_rate": N_("Helpful rate"),
    "vote_rate": N_("Vote rate (votes per view)"), "comments": N_("Comments"), "searches": N_("Searches"),
    "zero_rate": N_("Zero-result rate"), "click_through": N_("Search click-through"),
}
# For rates and the zero-result rate, down is good news.
LOWER_IS_BETTER = {"zero_rate"}
COLUMNS = [
    ("title", N_("Article")), ("views", N_("Views")), ("yes", N_("Yes")), ("no", N_("No")),
    ("rate", N_("Helpful")), ("bound", N_("Lower bound (95%%)")), ("vote_rate", N_("Vote rate")),
    ("trend", N_("Trend")), ("updated", N_("Last updated")),
]
ATTENTION_LABELS = {"low": N_("Few readers helped"), "falling": N_("Helpful rate falling")}


# --- the page-view hook ------------------------------------------------------------------------


def view_recorder(secret_key: str, db: Database) -> Callable[..., None]:
    """What the article and category pages call: queue one view of each article shown in full
    with its vote widget (batched, off the request path, no IP). Crawlers and scripts are left
    out here, and their votes are not counted either (kb.web.feedback), so votes per view compare
    the same readers; a FAQ voted on from its category page was viewed there too."""

    def record(request: Request, *articles: Article) -> None:
        if is_bot(request.headers.get("user-agent")):
            return
        visitor = visitor_hash(secret_key, visitor_id(request))
        day = datetime.now(UTC).date().isoformat()
        for article in articles:
            db.write_later(record_view(day, article.id, article.lang, visitor))

    return record


# --- request parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
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


def _analytics(request: Request) -> Analytics:
    return services(request).extra["analytics"]  # type: ignore[no-any-return]


def parse_query(request: Request) -> Query:
    params = request.query_params
    site = services(request).site
    period = parse_period(params.get("period"), params.get("since"), params.get("until"))
    filters = parse_filters(site, params.get("lang"), params.get("category"), params.get("type"))
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


# Every filter and option of the JSON API; none may be given empty (the dashboard's forms may).
API_PARAMS = ("period", "since", "until", "lang", "category", "type", "interval", "sort", "dir", "limit",
              "offset", "helpful", "reason", "page", "format")


def api_query(request: Request) -> Query:
    reject_empty(request, *API_PARAMS)
    # The document says since and until are dates: a preset period ignores them, but never
    # accepts one that is not a date.
    for name in ("since", "until"):
        if name in request.query_params:
            parse_date(name, request.query_params[name])
    return parse_query(request)


def _href(base: str, params: dict[str, str], **changes: Any) -> str:
    merged = {**params, **{k: str(v) for k, v in changes.items() if v not in (None, "")}}
    for key, value in changes.items():
        if value in (None, ""):
            merged.pop(key, None)
    return base + ("?" + urlencode(merged) if merged else "")


# --- formatting for templates ------------------------------------------------------------------


class Format:
    """Numbers as the UI language writes them; '–' where there is nothing to show."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        pattern = Locale.parse(lang).percent_formats[None].pattern
        self._pct = re.sub(r"0(?=[^0-9#]*%)", "0.0", pattern, count=1)  # one decimal: 61.5%

    def pct(self, value: float | None) -> str:
        if value is None:
            return "–"
        return str(format_percent(value, self._pct, locale=self.lang))

    def points(self, value: float | None) -> str:
        """A change of a rate, in percentage points, signed."""
        if value is None:
            return "–"
        sign = "+" if value > 0.00005 else ""
        shown = sign + str(format_decimal(value * 100, "#,##0.0", locale=self.lang))
        return i18n.gettext(self.lang, N_("%(points)s pt")) % {"points": shown}

    def change(self, figure: Figure) -> str:
        if figure.change is None:
            return "–"
        if figure.is_rate:
            return self.points(figure.change)
        return ("+" if figure.change > 0 else "") + str(format_percent(figure.change, locale=self.lang))

    def value(self, figure: Figure) -> str:
        if figure.is_rate:
            return self.pct(figure.value)
        return self.number(figure.value)

    def number(self, value: float | None) -> str:
        if value is None:
            return "–"
        return str(format_decimal(value, locale=self.lang))

    @staticmethod
    def direction(figure: Figure) -> str:
        """'good', 'bad' or '' for the colour of a change."""
        if not figure.change or figure.key in {"views", "searches", "votes", "comments"}:
            return ""
        better = figure.change < 0 if figure.key in LOWER_IS_BETTER else figure.change > 0
        return "good" if better else "bad"


def chart(points: list[Point], *, width: int = 720, height: int = 260) -> dict[str, Any]:
    """Geometry of the server-drawn chart: stacked yes/no bars, and the helpful rate as a line."""
    left, right, top, bottom = 44, 52, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((p.votes for p in points), default=0)
    scale = _nice_ceiling(peak)
    slot = plot_w / max(1, len(points))
    bar_w = max(1.0, slot * 0.7)
    bars, line = [], []
    for i, p in enumerate(points):
        x = left + i * slot + (slot - bar_w) / 2
        h_yes = plot_h * p.yes / scale
        h_no = plot_h * p.no / scale
        bars.append({"x": round(x, 1), "w": round(bar_w, 1), "y_yes": round(top + plot_h - h_yes, 1),
                     "h_yes": round(h_yes, 1), "y_no": round(top + plot_h - h_yes - h_no, 1),
                     "h_no": round(h_no, 1), "point": p})
        if p.rate is not None:
            line.append(f"{round(left + i * slot + slot / 2, 1)},{round(top + plot_h * (1 - p.rate), 1)}")
    step = max(1, math.ceil(len(points) / 8))
    labels = [{"x": round(left + i * slot + slot / 2, 1), "text": p.start.strftime("%m-%d")}
              for i, p in enumerate(points) if i % step == 0]
    ticks = [{"y": round(top + plot_h * (1 - f), 1), "votes": round(scale * f), "rate": f"{round(f * 100)}%"}
             for f in (0, 0.5, 1)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top,
            "bottom": top + plot_h, "bars": bars, "line": " ".join(line), "dots": line, "labels": labels,
            "ticks": ticks}


def _nice_ceiling(value: int) -> int:
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return int(factor * magnitude)
    return value  # pragma: no cover


# --- dashboard ---------------------------------------------------------------------------------


def _options(site: Site) -> dict[str, Any]:
    langs = sorted({a.lang for a in site.content.articles.values()})
    categories = sorted(((key, " › ".join(c.title("en") for c in site.ancestors(key)))
                         for key in site.content.categories), key=lambda kv: kv[1].casefold())
    return {"languages": langs, "categories": categories, "types": ARTICLE_TYPES, "periods": PERIODS}


async def dashboard(request: Request) -> Response:
    user = await require_role(request, *ROLES)
    query = parse_query(request)
    report = await _analytics(request).dashboard(query.period, query.filters, sort=query.sort,
                                                 descending=query.descending, interval=query.interval)
    rows, points = report.rows, report.points
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = int_param(request, "page", 1, minimum=1, maximum=pages)
    params = query.params()
    view_params = {**params, "interval": query.interval} if request.query_params.get("interval") else params
    sort_params = {**view_params, "sort": query.sort, "dir": "desc" if query.descending else "asc"}
    return render(request, "admin/analytics.html", {
        **_common(request, query, "/admin/analytics"),
        "figures": report.figures,
        "points": points, "chart": chart(points),
        "rows": rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "row_count": len(rows),
        "page": page, "pages": pages,
        "searches": report.searches,
        "sort_link": lambda column: _href("/admin/analytics", view_params, sort=column,
                                          dir=_next_dir(query, column), page=None) + "#articles",
        "page_link": lambda number: _href("/admin/analytics", sort_params, page=number) + "#articles",
        "interval_link": lambda interval: _href("/admin/analytics", {**sort_params, "interval": interval}),
        "drill_link": lambda row: _href(f"/admin/analytics/articles/{row.article_id}",
                                        {**params, "lang": row.lang}),
        "export_link": lambda kind, fmt: _href(f"/admin/analytics/export/{kind}", params, format=fmt),
        "new_article_link": lambda q: _href("/admin/articles/new", {}, title=q.query, lang=q.lang),
        "can_edit": user.role in EDITING_ROLES,
    }, user=user)


def _next_dir(query: Query, column: str) -> str:
    if query.sort == column:
        return "asc" if query.descending else "desc"
    return "asc" if column in {"title", "bound", "rate"} else "desc"


def _common(request: Request, query: Query, base: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    links = [(days, _href(base, {"period": str(days), **query.filters.query(), **(extra or {})}))
             for days in PERIODS]
    return {
        "period_links": links,
        "query": query, "period": query.period, "previous": query.period.previous(),
        "filters": query.filters, "fmt": Format(ui_lang(request)), "figure_labels": FIGURE_LABELS,
        "columns": COLUMNS, "attention_labels": ATTENTION_LABELS, "reason_label": reason_label,
        **_options(services(request).site),
    }


async def article_page(request: Request) -> Response:
    user = await require_role(request, *ROLES)
    query = parse_query(request)
    report = await _article_report(request, query, COMMENTS_PAGE)
    pages = max(1, math.ceil(report.comments_total / COMMENTS_PAGE))
    params = {**query.params(), "lang": report.lang}
    comment_params = {k: v for k, v in request.query_params.items() if k in {"helpful", "reason", "q"} and v}
    base = f"/admin/analytics/articles/{report.article_id}"
    return render(request, "admin/analytics_article.html", {
        **_common(request, query, base, {"lang": report.lang}),
        "report": report, "row": report.row, "chart": chart(report.series), "points": report.series,
        "comment_filter": comment_params, "comment_pages": pages,
        "comment_page": int_param(request, "page", 1, minimum=1, maximum=10**6),
        "page_link": lambda number: _href(base, {**params, **comment_params}, page=number) + "#comments",
        "base_link": base, "params": params,
        "back_link": _href("/admin/analytics", query.params()),
        "edit_link": edit_url(report.article.lang, report.article.slug)
        if report.article is not None and user.role in EDITING_ROLES else None,
        "reasons": [(code, reason_label(code), count) for code, count in report.reasons],
        "reasons_total": sum(count for _, count in report.reasons),
    }, user=user)


async def _article_report(request: Request, query: Query, page_size: int) -> ArticleReport:
    raw_id = str(request.path_params["id"])
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
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
    report = await _analytics(request).article(
        article_id, lang, query.period, interval=query.interval,
        helpful={"": None, "yes": True, "no": False}[helpful_raw], reason=reason, text=text,
        limit=page_size, offset=(page - 1) * page_size)
    if report.article is None and not report.row.votes and not report.row.views and not report.revisions:
        raise NotFound("no article with this id and language")
    return report


# --- downloads -----------------------------------------------------------------------------------


def _export_response(request: Request, query: Query, kind: str) -> Response:
    if kind not in EXPORT_KINDS:
        raise NotFound(f"no export named {kind[:40]!r}; one of {', '.join(EXPORT_KINDS)}")
    fmt = request.query_params.get("format") or "csv"
    if fmt not in {"csv", "json"}:
        raise BadRequest("format must be csv or json")
    columns, rows = _analytics(request).export(kind, query.period, query.filters)
    chunks: AsyncIterator[str] = csv_chunks(columns, rows) if fmt == "csv" else json_chunks(rows)
    name = f"kb-{kind}-{query.period.since.isoformat()}-{query.period.until.isoformat()}.{fmt}"
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return StreamingResponse(chunks, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


async def download(request: Request) -> Response:
    await require_role(request, *ROLES)
    return _export_response(request, parse_query(request), str(request.path_params["kind"]))


# --- JSON API (API tokens) ----------------------------------------------------------------------

ApiHandler = Callable[[Request], Awaitable[Response]]


def token_required(handler: ApiHandler) -> ApiHandler:
    """`Authorization: Bearer <token>` from `kb token create`, else 401."""

    async def checked(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        tokens: Tokens = services(request).extra["tokens"]
        if scheme.lower() != "bearer" or await tokens.check(token.strip()) is None:
            return JSONResponse({"error": "a valid API token is required (Authorization: Bearer <token>)"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="kb"'})
        return await handler(request)

    return checked


def _period_json(period: Period) -> dict[str, str]:
    return {"since": period.since.isoformat(), "until": period.until.isoformat()}


def _point_json(p: Point) -> dict[str, Any]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(), "views": p.views, "yes": p.yes,
            "no": p.no, "votes": p.votes, "helpful_rate": _r(p.rate)}


def _query_json(q: QueryRow) -> dict[str, Any]:
    found = {"query": q.query, "lang": q.lang, "searches": q.searches, "zero_results": q.zero,
             "clicked": q.clicked, "zero_rate": _r(q.zero_rate), "click_through": _r(q.ctr)}
    if q.previous_zero is not None:
        found["previous_zero_results"] = q.previous_zero
    return found


def _revision_json(r: RevisionRow) -> dict[str, Any]:
    return {"revision": r.revision, "since": r.since or None, "author": r.author, "message": r.message,
            "yes": r.yes, "no": r.no, "helpful_rate": _r(r.rate), "wilson_lower_bound": _r(r.bound),
            "change": _r(r.change), "current": r.current}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@token_required
async def api_summary(request: Request) -> Response:
    query = api_query(request)
    figures = await _analytics(request).headline(query.period, query.filters)
    return JSONResponse({
        "period": _period_json(query.period), "previous": _period_json(query.period.previous()),
        "filters": query.filters.query(),
        "figures": {f.key: {"value": _r(f.value) if f.is_rate else f.value, "previous": _r(f.previous) if f.is_rate
                            else f.previous, "change": _r(f.change)} for f in figures},
    })


@token_required
async def api_timeseries(request: Request) -> Response:
    query = api_query(request)
    points = await _analytics(request).series(query.period, query.filters, query.interval)
    return JSONResponse({"period": _period_json(query.period), "interval": query.interval,
                         "points": [_point_json(p) for p in points]})


@token_required
async def api_articles(request: Request) -> Response:
    query = api_query(request)
    rows: list[ArticleRow] = await _analytics(request).articles(
        query.period, query.filters, sort=query.sort, descending=query.descending)
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000)
    offset = int_param(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)
    return JSONResponse({"period": _period_json(query.period), "total": len(rows),
                         "results": [r.export() for r in rows[offset:offset + limit]]})


@token_required
async def api_article(request: Request) -> Response:
    query = api_query(request)
    limit = int_param(request, "limit", 50, minimum=1, maximum=1000)
    report = await _article_report(request, query, limit)
    return JSONResponse({
        "period": _period_json(query.period), "article": report.row.export(),
        "series": [_point_json(p) for p in report.series],
        "reasons": [{"reason": code or None, "count": count} for code, count in report.reasons],
        "comments": {"total": report.comments_total, "results": report.comments},
        "revisions": [_revision_json(r) for r in report.revisions],
    })


@token_required
async def api_searches(request: Request) -> Response:
    query = api_query(request)
    limit = int_param(request, "limit", 20, minimum=1, maximum=500)
    found = await _analytics(request).searches(query.period, query.filters, limit=limit)
    return JSONResponse({"period": _period_json(query.period),
                         "top": [_query_json(q) for q in found.top],
                         "zero_results": [_query_json(q) for q in found.zero],
                         "low_click_through": [_query_json(q) for q in found.low_ctr]})


@token_required
async def api_export(request: Request) -> Response:
    return _export_response(request, api_query(request), str(request.path_params["kind"]))


# --- OpenAPI ------------------------------------------------------------------------------------

_FILTERS = [
    {"name": "period", "in": "query", "schema": {"type": "string", "enum": [*map(str, PERIODS), "custom"],
                                                  "default": "30"},
     "description": "The last 7, 30 or 90 days up to today (UTC), or custom: since..until (inclusive)."},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "First day of a custom period (ignored with a preset period)."},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "Last day of a custom period (ignored with a preset period)."},
    {"name": "lang", "in": "query", "schema": LANG},
    {"name": "category", "in": "query", "schema": CATEGORY,
     "description": "A category key; its sub-categories are included."},
    {"name": "type", "in": "query", "schema": {"type": "string", "enum": list(ARTICLE_TYPES)}},
]
_ERROR = {"$ref": "#/components/responses/Error"}
_ERRORS = {"400": _ERROR, "401": _ERROR}
_SECURITY: list[dict[str, list[str]]] = [{"apiToken": []}]


def _ok(description: str, ref: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_NUM = {"type": ["number", "null"]}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "AnalyticsPeriod": {"type": "object", "properties": {"since": {"type": "string", "format": "date"},
                                                         "until": {"type": "string", "format": "date"}}},
    "AnalyticsSummary": {"type": "object", "required": ["period", "previous", "figures"], "properties": {
        "period": {"$ref": "#/components/schemas/AnalyticsPeriod"},
        "previous": {"$ref": "#/components/schemas/AnalyticsPeriod"},
        "filters": {"type": "object"},
        "figures": {"type": "object", "description": "views, votes, helpful_rate, vote_rate, comments, searches, "
                    "zero_rate, click_through: each {value, previous, change} (rates change in points)",
                    "additionalProperties": {"type": "object", "properties": {
                        "value": _NUM, "previous": _NUM, "change": _NUM}}},
    }},
    "AnalyticsPoint": {"type": "object", "properties": {
        "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
        "views": {"type": "integer"}, "yes": {"type": "integer"}, "no": {"type": "integer"},
        "votes": {"type": "integer"}, "helpful_rate": _NUM}},
    "AnalyticsTimeseries": {"type": "object", "properties": {
        "period": {"$ref": "#/components/schemas/AnalyticsPeriod"},
        "interval": {"type": "string", "enum": list(INTERVALS)},
        "points": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsPoint"}}}},
    "AnalyticsArticle": {"type": "object", "properties": {
        "article_id": {"type": "integer"}, "lang": {"type": "string"}, "slug": {"type": "string"},
        "title": {"type": "string"}, "category": {"type": "string"}, "type": {"type": "string"},
        "updated": {"type": ["string", "null"], "format": "date"}, "views": {"type": "integer"},
        "yes": {"type": "integer"}, "no": {"type": "integer"}, "votes": {"type": "integer"},
        "comments": {"type": "integer"}, "helpful_rate": _NUM, "wilson_lower_bound": _NUM,
        "vote_rate": _NUM, "trend": _NUM,
        "needs_attention": {"type": ["string", "null"], "enum": ["low", "falling", None]}}},
    "AnalyticsArticles": {"type": "object", "properties": {
        "period": {"$ref": "#/components/schemas/AnalyticsPeriod"}, "total": {"type": "integer"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsArticle"}}}},
    "AnalyticsArticleDetail": {"type": "object", "properties": {
        "period": {"$ref": "#/components/schemas/AnalyticsPeriod"},
        "article": {"$ref": "#/components/schemas/AnalyticsArticle"},
        "series": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsPoint"}},
        "reasons": {"type": "array", "items": {"type": "object", "properties": {
            "reason": {"type": ["string", "null"]}, "count": {"type": "integer"}}}},
        "comments": {"type": "object", "properties": {"total": {"type": "integer"}, "results": {
            "type": "array", "items": {"type": "object"}}}},
        "revisions": {"type": "array", "items": {"type": "object", "properties": {
            "revision": {"type": "string"}, "since": {"type": ["string", "null"]},
            "author": {"type": ["string", "null"]}, "message": {"type": ["string", "null"]},
            "yes": {"type": "integer"}, "no": {"type": "integer"}, "helpful_rate": _NUM,
            "wilson_lower_bound": _NUM, "change": _NUM, "current": {"type": "boolean"}}}}}},
    "AnalyticsQuery": {"type": "object", "properties": {
        "query": {"type": "string"}, "lang": {"type": "string"}, "searches": {"type": "integer"},
        "zero_results": {"type": "integer"}, "clicked": {"type": "integer"}, "zero_rate": _NUM,
        "click_through": _NUM, "previous_zero_results": {"type": "integer"}}},
    "AnalyticsSearches": {"type": "object", "properties": {
        "period": {"$ref": "#/components/schemas/AnalyticsPeriod"},
        **{name: {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsQuery"}}
           for name in ("top", "zero_results", "low_click_through")}}},
}

OPENAPI_SECURITY_SCHEMES = {"apiToken": {"type": "http", "scheme": "bearer",
                                         "description": "A token from `kb token create NAME`."}}


def _get(summary: str, response: dict[str, Any], extra: list[dict[str, Any]] | None = None,
         *, not_found: str | None = None) -> dict[str, Any]:
    responses = {"200": response, **_ERRORS}
    if not_found:
        responses["404"] = {**_ERROR, "description": not_found}
    return {"get": {"summary": summary, "security": _SECURITY, "parameters": [*_FILTERS, *(extra or [])],
                    "responses": responses}}


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/analytics/summary": _get(
        "Headline figures with the previous period", _ok("Headline figures", "AnalyticsSummary")),
    "/api/v1/analytics/timeseries": _get(
        "Views and votes per day or week", _ok("Points", "AnalyticsTimeseries"),
        [{"name": "interval", "in": "query", "schema": {"type": "string", "enum": list(INTERVALS)}}]),
    "/api/v1/analytics/articles": _get(
        "Per-article views, votes, helpful rate, Wilson lower bound, vote rate and trend",
        _ok("Articles", "AnalyticsArticles"),
        [{"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(SORTS)}},
         {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
         {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
         {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}}]),
    "/api/v1/analytics/articles/{id}": _get(
        "One article: series, reasons, comments, helpfulness per revision",
        _ok("The article's report", "AnalyticsArticleDetail"),
        [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
         {"name": "helpful", "in": "query", "schema": {"type": "string", "enum": ["yes", "no"]}},
         {"name": "reason", "in": "query", "schema": {"type": "string", "minLength": 1}},
         {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Text in the comment"},
         {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
         {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}}],
        not_found="No article with this id (and lang) has content, views or votes"),
    "/api/v1/analytics/searches": _get(
        "Top queries, zero-result queries (with the previous period) and low click-through queries",
        _ok("Search report", "AnalyticsSearches"),
        [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}]),
    "/api/v1/analytics/export/{kind}": _get(
        "Raw votes, comments or searches, or per-article aggregates, as CSV or JSON (streamed)",
        {"description": "The rows", "content": {"text/csv": {"schema": {"type": "string"}},
                                                 "application/json": {"schema": {"type": "array"}}}},
        [{"name": "kind", "in": "path", "required": True, "schema": {"type": "string", "enum": list(EXPORT_KINDS)}},
         {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "json"]}}],
        not_found="No export of this kind"),
}


routes = [
    Route("/admin/analytics", dashboard, name="analytics"),
    Route("/admin/analytics/articles/{id}", article_page, name="analytics_article"),
    Route("/admin/analytics/export/{kind}", download, name="analytics_download"),
    Route("/api/v1/analytics/summary", api_summary, name="api_analytics_summary"),
    Route("/api/v1/analytics/timeseries", api_timeseries, name="api_analytics_timeseries"),
    Route("/api/v1/analytics/articles", api_articles, name="api_analytics_articles"),
    Route("/api/v1/analytics/articles/{id}", api_article, name="api_analytics_article"),
    Route("/api/v1/analytics/searches", api_searches, name="api_analytics_searches"),
    Route("/api/v1/analytics/export/{kind}", api_export, name="api_analytics_export"),
]


def with_security_schemes(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer token the analytics paths require (kb.web.openapi knows no schemes)."""
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(OPENAPI_SECURITY_SCHEMES)
    return document
