"""JSON API /api/v1/: articles. Errors are {"error": ...} with the right status (kb.web.errors)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kb.content.model import ARTICLE_TYPES, Article, check_filters
from kb.content.site import article_url
from kb.errors import NotFound
from kb.web.openapi import CATEGORY, LANG
from kb.web.services import int_param, lang_param, reject_empty, services

MAX_LIMIT = 100
MAX_OFFSET = 1_000_000


def article_json(article: Article) -> dict[str, Any]:
    return {
        "id": article.id, "lang": article.lang, "slug": article.slug, "title": article.title,
        "summary": article.summary, "category": article.category, "type": article.type,
        "url": article_url(article), "updated": article.updated.isoformat(),
    }


async def list_articles(request: Request) -> Response:
    site = services(request).site
    reject_empty(request, "lang", "category", "type", "limit", "offset")
    lang = lang_param(request)
    category = request.query_params.get("category")
    kind = request.query_params.get("type")
    check_filters(site.content.categories, category, kind)
    limit = int_param(request, "limit", 20, minimum=1, maximum=MAX_LIMIT)
    offset = int_param(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)
    found = site.published(lang, category=category, type=kind)
    return JSONResponse({"total": len(found), "results": [article_json(a) for a in found[offset:offset + limit]]})


async def get_article(request: Request) -> Response:
    site = services(request).site
    lang = str(request.path_params["lang"])
    if lang not in site.languages:
        raise NotFound("article not found")
    article = site.article(lang, str(request.path_params["slug"]))
    rendered = site.rendered(article)
    body = article_json(article)
    body.update({
        "tags": list(article.tags),
        "questions": list(article.questions),
        "html": rendered.html,
        "video": article.video,
        "translations": [{"lang": a.lang, "slug": a.slug, "title": a.title, "url": article_url(a)}
                         for a in site.translations(article)],
    })
    return JSONResponse(body)


_ARTICLE_SCHEMA = {
    "type": "object",
    "required": ["id", "lang", "slug", "title", "summary", "category", "type", "url", "updated"],
    "properties": {
        "id": {"type": "integer"}, "lang": {"type": "string"}, "slug": {"type": "string"},
        "title": {"type": "string"}, "summary": {"type": "string"}, "category": {"type": "string"},
        "type": {"type": "string", "enum": list(ARTICLE_TYPES)}, "url": {"type": "string"},
        "updated": {"type": "string", "format": "date"},
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Article": _ARTICLE_SCHEMA,
    "ArticleDetail": {"allOf": [{"$ref": "#/components/schemas/Article"}, {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "questions": {"type": "array", "items": {"type": "string"},
                          "description": "How customers ask what the article answers"},
            "html": {"type": "string"}, "video": {"type": ["string", "null"]},
            "translations": {"type": "array", "items": {"type": "object", "properties": {
                "lang": {"type": "string"}, "slug": {"type": "string"},
                "title": {"type": "string"}, "url": {"type": "string"}}}},
        },
    }]},
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/articles": {"get": {
        "summary": "List published articles",
        "parameters": [
            {"name": "lang", "in": "query", "schema": LANG},
            {"name": "category", "in": "query", "schema": CATEGORY},
            {"name": "type", "in": "query", "schema": {"type": "string", "enum": list(ARTICLE_TYPES)}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20}},
            {"name": "offset", "in": "query",
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
        ],
        "responses": {
            "200": {"description": "A page of articles", "content": {"application/json": {"schema": {
                "type": "object", "required": ["total", "results"],
                "properties": {"total": {"type": "integer"},
                               "results": {"type": "array", "items": {"$ref": "#/components/schemas/Article"}}},
            }}}},
            "400": {"$ref": "#/components/responses/Error"},
        },
    }},
    "/api/v1/articles/{lang}/{slug}": {"get": {
        "summary": "One published article with its HTML and translations",
        "parameters": [
            {"name": "lang", "in": "path", "required": True, "schema": LANG},
            {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {"description": "The article", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ArticleDetail"}}}},
            "404": {"$ref": "#/components/responses/Error"},
        },
    }},
}

routes = [
    Route("/api/v1/articles", list_articles, name="api_articles"),
    Route("/api/v1/articles/{lang}/{slug}", get_article, name="api_article"),
]
