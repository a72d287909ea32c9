"""The analytics JSON API for BI tools, /api/v1/analytics/*: the dashboard's figures as JSON
and the exports, behind an API token (`kb token create`), with its OpenAPI paths and schemas.
Thin: parse (kb.web.analytics_query), call kb.analytics, shape the JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kb.analytics.export import EXPORT_KINDS
from kb.analytics.model import SORTS, ArticleRow, Figure, Point, QueryRow, RevisionRow, rounded
from kb.analytics.periods import INTERVALS, PERIODS, Period
from kb.content.model import ARTICLE_TYPES
from kb.web.analytics_query import MAX_PAGE, api_query, article_report, export_response
from kb.web.openapi import CATEGORY, LANG
from kb.web.services import int_param, services

MAX_OFFSET = 10**7  # of articles

ApiHandler = Callable[[Request], Awaitable[Response]]


def token_required(handler: ApiHandler) -> ApiHandler:
    """`Authorization: Bearer <token>` from `kb token create`, else 401."""

    async def checked(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or await services(request).tokens.check(token.strip()) is None:
            return JSONResponse({"error": "a valid API token is required (Authorization: Bearer <token>)"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="kb"'})
        return await handler(request)

    return checked


def _period_json(period: Period) -> dict[str, str]:
    return {"since": period.since.isoformat(), "until": period.until.isoformat()}


def _figure_json(f: Figure) -> dict[str, Any]:
    # Counts stay whole numbers; rates and every change are rounded like the exports.
    shown = rounded if f.is_rate else (lambda value: value)
    return {"value": shown(f.value), "previous": shown(f.previous), "change": rounded(f.change)}


def _point_json(p: Point) -> dict[str, Any]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(), "views": p.views, "yes": p.yes,
            "no": p.no, "votes": p.votes, "helpful_rate": rounded(p.rate)}


def _query_json(q: QueryRow) -> dict[str, Any]:
    found = {"query": q.query, "lang": q.lang, "searches": q.searches, "zero_results": q.zero,
             "clicked": q.clicked, "zero_rate": rounded(q.zero_rate), "click_through": rounded(q.ctr)}
    if q.previous_zero is not None:
        found["previous_zero_results"] = q.previous_zero
    return found


def _revision_json(r: RevisionRow) -> dict[str, Any]:
    return {"revision": r.revision, "since": r.since or None, "author": r.author, "message": r.message,
            "yes": r.yes, "no": r.no, "helpful_rate": rounded(r.rate), "wilson_lower_bound": rounded(r.bound),
            "change": rounded(r.change), "current": r.current}


@token_required
async def api_summary(request: Request) -> Response:
    query = api_query(request)
    figures = await services(request).analytics.headline(query.period, query.filters)
    return JSONResponse({
        "period": _period_json(query.period), "previous": _period_json(query.period.previous()),
        "filters": query.filters.query(),
        "figures": {f.key: _figure_json(f) for f in figures},
    })


@token_required
async def api_timeseries(request: Request) -> Response:
    query = api_query(request)
    points = await services(request).analytics.series(query.period, query.filters, query.interval)
    return JSONResponse({"period": _period_json(query.period), "interval": query.interval,
                         "points": [_point_json(p) for p in points]})


@token_required
async def api_articles(request: Request) -> Response:
    query = api_query(request)
    rows: list[ArticleRow] = await services(request).analytics.articles(
        query.period, query.filters, sort=query.sort, descending=query.descending)
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000)
    offset = int_param(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)
    return JSONResponse({"period": _period_json(query.period), "total": len(rows),
                         "results": [r.export() for r in rows[offset:offset + limit]]})


@token_required
async def api_article(request: Request) -> Response:
    query = api_query(request)
    limit = int_param(request, "limit", 50, minimum=1, maximum=1000)
    report = await article_report(request, query, limit)
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
    analytics = services(request).analytics
    found = await analytics.searches(query.period, query.filters, limit=limit)
    candidates = await analytics.synonym_candidates(query.period, query.filters, limit=limit)
    return JSONResponse({"period": _period_json(query.period),
                         "top": [_query_json(q) for q in found.top],
                         "zero_results": [_query_json(q) for q in found.zero],
                         "low_click_through": [_query_json(q) for q in found.low_ctr],
                         "synonym_candidates": [{"lang": c.lang, "first": c.first, "second": c.second,
                                                 "count": c.count, "visitors": c.visitors} for c in candidates]})


@token_required
async def api_export(request: Request) -> Response:
    return export_response(request, api_query(request), str(request.path_params["kind"]))


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
           for name in ("top", "zero_results", "low_click_through")},
        "synonym_candidates": {"type": "array", "description": (
            "A search that found nothing or whose results went unopened (first), then within "
            "minutes the same visitor's search whose result was opened (second); count: times, "
            "visitors: by how many. Pairs synonyms.yaml already joins and dismissed ones are left out."),
            "items": {"type": "object", "required": ["lang", "first", "second", "count", "visitors"], "properties": {
                "lang": {"type": "string"}, "first": {"type": "string"}, "second": {"type": "string"},
                "count": {"type": "integer"}, "visitors": {"type": "integer"}}}}}},
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
