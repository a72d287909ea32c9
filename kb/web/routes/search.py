"""Search routes: the results page, result clicks, and the JSON search and suggest API.

Thin: read and check the parameters, ask kb.search, log off the request path, render.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from kb import i18n
from kb.content.model import ARTICLE_TYPES, Article, check_filters
from kb.content.site import Site, article_url
from kb.i18n import N_
from kb.search.elsewhere import search_elsewhere
from kb.search.errors import SearchUnavailable
from kb.search.index import SUGGEST_LIMIT
from kb.search.results import Hit, SearchResults
from kb.web.openapi import CATEGORY, LANG
from kb.web.routes.pages import FROM_SEARCH
from kb.web.security import hashed_visitor
from kb.web.services import Services, int_param, page_lang, reject_empty, services

MAX_PAGE = 1000
MAX_LIMIT = 50
MAX_OFFSET = 10_000
MAX_QUERY = 500  # characters of q the API reads; the rest is cut
POPULAR_LIMIT = 5
# what a suggestion shows beside its title (the same words as templates' type_label)
TYPE_LABELS = {"faq": N_("FAQ"), "tutorial": N_("Tutorial"), "video": N_("Video")}


def _filters(request: Request, site: Site) -> tuple[str | None, str | None]:
    category = request.query_params.get("category") or None
    kind = request.query_params.get("type") or None
    check_filters(site.content.categories, category, kind)
    return category, kind




def _log_search(request: Request, svc: Services, results: SearchResults, category: str | None,
                kind: str | None) -> int | None:
    # The reader's language's count, also when other languages' results were shown: a query
    # answered only in another language is a gap in this language's content, and the zero-result
    # report is where product teams look for gaps.
    return svc.search_log.record_search(results, category, kind, hashed_visitor(request),
                                          request.headers.get("user-agent"))


async def _elsewhere(svc: Services, lang: str, raw: str, results: SearchResults, category: str | None,
                     kind: str | None) -> tuple[SearchResults, ...]:
    """Results in the other languages (the default first) when the reader's language has none."""
    if not results.query or results.total:
        return ()
    return await search_elsewhere(svc.search, lang, raw, svc.settings.default_lang, category=category,
                                  type=kind)


def _optional_int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw and len(raw) < 24 else None
    except ValueError:
        return None


# --- pages ----------------------------------------------------------------------------------


async def search_page(request: Request) -> Response:
    lang = page_lang(request)
    svc = services(request)
    site = svc.site
    raw = request.query_params.get("q", "")
    category, kind = _filters(request, site)
    page = int_param(request, "page", 1, minimum=1, maximum=MAX_PAGE)
    size = svc.settings.page_size
    results = await svc.search.search(lang, raw, category=category, type=kind,
                                      offset=(page - 1) * size, limit=size)
    elsewhere = await _elsewhere(svc, lang, raw, results, category, kind) if page == 1 else ()
    search_id = None
    if results.query:
        if page == 1:
            search_id = _log_search(request, svc, results, category, kind)
        else:
            search_id = _optional_int(request.query_params.get("sid"))
    pages = max(1, math.ceil(results.total / size))
    popular: list[Article] = []
    if results.query and not results.total and not elsewhere:
        popular = await svc.feedback.most_helpful(lang, POPULAR_LIMIT) or site.published(lang)[:POPULAR_LIMIT]

    def url(**changes: Any) -> str:
        params: dict[str, Any] = {"q": results.query, "category": category, "type": kind, "page": None}
        params.update(changes)
        if params.get("page") and search_id:
            params["sid"] = search_id
        return f"/{lang}/search?" + urlencode({k: v for k, v in params.items() if v})

    def click_url(rank: int, slug: str, shown_in: str | None = None) -> str:
        # The query is the logged search's own: the link only names the search (sid).
        params: dict[str, Any] = {"to": slug, "in": shown_in, "rank": rank}
        if search_id:
            params["sid"] = search_id
        return f"/{lang}/search/click?" + urlencode({k: v for k, v in params.items() if v is not None})

    return svc.templates.response(request, lang, "search.html", {
        "query": results.query,
        "results": results,
        "elsewhere": elsewhere,
        "category": category,
        "type": kind,
        "page": page,
        "pages": pages,
        "first_rank": (page - 1) * size + 1,
        "url": url,
        "click_url": click_url,
        # the language switcher keeps the search: the same words and filters in another language
        "translation_urls": {code: f"/{code}/search" + (
            "?" + urlencode({k: v for k, v in (("q", results.query), ("category", category), ("type", kind)) if v})
            if results.query else "") for code in site.languages},
        "category_title": lambda key: site.category(key, internal=True).title(lang) if key in site.content.categories else key,
        "popular": popular,
        "categories": [(c, site.category_count(lang, c.key)) for c in site.children(None)
                       if site.public_category(c.key)],  # search finds public articles only
    }, headers={"X-Robots-Tag": "noindex"})


async def search_click(request: Request) -> Response:
    """A result link: record which result of which search was opened, then go there.

    The click is recorded only for a search of this visitor, not for crawlers, and within the
    click rate limits (kb.search.log); the reader is sent to the article in every case.
    """
    lang = page_lang(request)
    svc = services(request)
    shown_in = request.query_params.get("in")  # a result in another language (search_elsewhere)
    article = svc.site.article(shown_in if shown_in in svc.site.languages else lang,
                               request.query_params.get("to", ""))
    rank = _optional_int(request.query_params.get("rank"))
    search_id = _optional_int(request.query_params.get("sid"))
    if (search_id is not None and 0 < search_id < 2**63 and rank is not None
            and 1 <= rank <= MAX_PAGE * MAX_LIMIT):
        address = request.client.host if request.client else None
        svc.search_log.record_click(search_id, lang, article.id, rank, hashed_visitor(request), address,
                                      request.headers.get("user-agent"))
    return RedirectResponse(f"{article_url(article)}?from={FROM_SEARCH}", status_code=302)


# --- API ------------------------------------------------------------------------------------


def _api_lang(request: Request, svc: Services) -> str:
    languages = svc.site.languages
    lang = request.query_params.get("lang") or (
        svc.settings.default_lang if svc.settings.default_lang in languages or not languages else languages[0])
    check_filters((), lang=lang, languages=languages)
    return lang


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id, "lang": hit.lang, "slug": hit.slug, "title": hit.title, "summary": hit.summary,
        "category": hit.category, "type": hit.type, "url": hit.url, "score": hit.score,
        "highlight": hit.highlight,
    }


def result_json(results: SearchResults, elsewhere: tuple[SearchResults, ...] = ()) -> dict[str, Any]:
    return {
        "query": results.query,
        "total": results.total,
        "results": [_hit_json(hit) for hit in results.hits],
        "suggestion": results.suggestion,
        "facets": results.facets,
        "other_languages": [{
            "lang": found.lang, "total": found.total,
            "results": [{**_hit_json(hit), "translation": hit.translation} for hit in found.hits],
        } for found in elsewhere],
    }


async def api_search(request: Request) -> Response:
    svc = services(request)
    reject_empty(request, "lang", "category", "type", "limit", "offset")
    lang = _api_lang(request, svc)
    category, kind = _filters(request, svc.site)
    limit = int_param(request, "limit", 10, minimum=1, maximum=MAX_LIMIT)
    offset = int_param(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)
    raw = request.query_params.get("q", "")
    results = await svc.search.search(lang, raw, category=category, type=kind, offset=offset, limit=limit)
    elsewhere = await _elsewhere(svc, lang, raw, results, category, kind) if offset == 0 else ()
    if results.query and offset == 0:
        _log_search(request, svc, results, category, kind)
    return JSONResponse(result_json(results, elsewhere))


async def api_suggest(request: Request) -> Response:
    svc = services(request)
    reject_empty(request, "lang", "limit")
    lang = _api_lang(request, svc)
    limit = int_param(request, "limit", SUGGEST_LIMIT, minimum=1, maximum=SUGGEST_LIMIT)
    raw = request.query_params.get("q", "")
    found = await svc.search.suggest(lang, raw, limit)
    categories = svc.site.content.categories
    return JSONResponse({
        "query": raw[:MAX_QUERY],
        "suggestions": [{"id": s.id, "lang": s.lang, "slug": s.slug, "title": s.title,
                         "category": s.category, "type": s.type, "url": s.url,
                         # shown beside the title, in the language asked for
                         "category_title": categories[s.category].title(lang) if s.category in categories
                         else s.category,
                         "type_label": i18n.gettext(lang, TYPE_LABELS.get(s.type, s.type))} for s in found],
    })


# --- while the index is built ---------------------------------------------------------------

BUILDING_TITLE = N_("Search is not available yet")
BUILDING_MESSAGE = N_("The search index is being built, try again in a moment.")


Endpoint = Callable[[Request], Awaitable[Response]]


def _answers_while_building(endpoint: Endpoint) -> Endpoint:
    """A search made while the index is built (at start, or after its folder was deleted)
    gets 503 with Retry-After: a page in the visitor's language, or JSON under /api/."""

    @functools.wraps(endpoint)
    async def endpoint_or_503(request: Request) -> Response:
        try:
            return await endpoint(request)
        except SearchUnavailable as exc:
            return _building(request, exc)

    return endpoint_or_503


def _building(request: Request, exc: SearchUnavailable) -> Response:
    svc = services(request)
    headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
    if request.url.path.startswith("/api/"):
        lang = request.query_params.get("lang") or svc.settings.default_lang
        return JSONResponse({"error": i18n.gettext(lang, BUILDING_MESSAGE)}, status_code=503,
                            headers=headers)
    lang = page_lang(request)
    return svc.templates.response(request, lang, "error.html", {
        "status": 503, "title": i18n.gettext(lang, BUILDING_TITLE),
        "message": i18n.gettext(lang, BUILDING_MESSAGE), "details": None,
    }, status=503, headers={**headers, "X-Robots-Tag": "noindex"})


routes = [
    Route("/api/v1/search", _answers_while_building(api_search), name="api_search"),
    Route("/api/v1/suggest", _answers_while_building(api_suggest), name="api_suggest"),
    Route("/{lang:lang}/search", _answers_while_building(search_page), name="search"),
    Route("/{lang:lang}/search/click", search_click, name="search_click"),
]


# --- OpenAPI --------------------------------------------------------------------------------

_LANG = {"name": "lang", "in": "query", "schema": LANG,
         "description": "Language to search in (default: the site's default language)."}
# No maxLength: a longer text is not refused but cut (as on the search page), so say that instead.
_Q = {"name": "q", "in": "query", "schema": {"type": "string"},
      "description": 'Words; "quoted phrase"; -word to exclude. Every other character is literal. '
                     f'Only the first {MAX_QUERY} characters are read.'}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "SearchResult": {
        "type": "object",
        "required": ["id", "lang", "slug", "title", "summary", "category", "type", "url", "score", "highlight"],
        "properties": {
            "id": {"type": "integer"}, "lang": {"type": "string"}, "slug": {"type": "string"},
            "title": {"type": "string"}, "summary": {"type": "string"}, "category": {"type": "string"},
            "type": {"type": "string", "enum": list(ARTICLE_TYPES)}, "url": {"type": "string"},
            "score": {"type": "number"},
            "highlight": {"type": "string", "description": "HTML excerpt: escaped text, matches in <mark>"},
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["query", "total", "results", "suggestion", "facets", "other_languages"],
        "properties": {
            "query": {"type": "string", "description": "The query as understood (normalised)"},
            "total": {"type": "integer"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchResult"}},
            "suggestion": {"type": ["string", "null"], "description": "Did you mean"},
            "facets": {"type": "object", "properties": {
                "category": {"type": "object", "additionalProperties": {"type": "integer"}},
                "type": {"type": "object", "additionalProperties": {"type": "integer"}},
            }},
            "other_languages": {
                "type": "array",
                "description": "When nothing matches in `lang` (first page only): the same search in "
                               "the other languages, the default language first; only those with results",
                "items": {"type": "object", "required": ["lang", "total", "results"], "properties": {
                    "lang": {"type": "string"}, "total": {"type": "integer"},
                    "results": {"type": "array", "items": {"allOf": [
                        {"$ref": "#/components/schemas/SearchResult"},
                        {"type": "object", "required": ["translation"], "properties": {"translation": {
                            "type": ["string", "null"],
                            "description": "The article's address in `lang`; null: not translated yet"}}},
                    ]}},
                }},
            },
        },
    },
    "Suggestions": {
        "type": "object",
        "required": ["query", "suggestions"],
        "properties": {
            "query": {"type": "string"},
            "suggestions": {"type": "array", "maxItems": SUGGEST_LIMIT, "items": {
                "type": "object", "required": ["id", "lang", "slug", "title", "category", "type", "url",
                                               "category_title", "type_label"],
                "properties": {"id": {"type": "integer"}, "lang": {"type": "string"},
                               "slug": {"type": "string"}, "title": {"type": "string"},
                               "category": {"type": "string"}, "type": {"type": "string"},
                               "url": {"type": "string"}, "category_title": {"type": "string"},
                               "type_label": {"type": "string"}}}},
        },
    },
}

_BUILDING_RESPONSE = {
    "description": "The search index is being built (at start, or after it was deleted); "
                   "retry after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/search": {"get": {
        "summary": "Full-text search of published articles in one language",
        "parameters": [
            _Q, _LANG,
            {"name": "category", "in": "query", "schema": CATEGORY},
            {"name": "type", "in": "query", "schema": {"type": "string", "enum": list(ARTICLE_TYPES)}},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
            {"name": "offset", "in": "query",
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
        ],
        "responses": {
            "200": {"description": "Results, facets and a spelling suggestion", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SearchResults"}}}},
            "400": {"$ref": "#/components/responses/Error"},
            "503": _BUILDING_RESPONSE,
        },
    }},
    "/api/v1/suggest": {"get": {
        "summary": "Up to 8 article titles for what is being typed (the last word is a prefix)",
        "parameters": [
            _Q, _LANG,
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": SUGGEST_LIMIT, "default": SUGGEST_LIMIT}},
        ],
        "responses": {
            "200": {"description": "Suggested articles", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Suggestions"}}}},
            "400": {"$ref": "#/components/responses/Error"},
            "503": _BUILDING_RESPONSE,
        },
    }},
}
