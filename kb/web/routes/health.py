"""Content health for editors: /admin/health (counts per flag, the flagged articles, filters),
"mark reviewed", the Atom feed of new flags (an API token in its URL) and /api/v1/health (an
API token in the Authorization header). Thin: parse the filters, call kb.health, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kb.auth import EDITING_ROLES
from kb.content.model import check_filters
from kb.errors import BadRequest
from kb.health.feed import atom
from kb.health.model import FLAG_LABELS, FLAGS, Filters
from kb.i18n import N_
from kb.web.admin_pages import edit_url, redirect, render
from kb.web.openapi import CATEGORY, LANG
from kb.web.routes.admin import checked_form
from kb.web.routes.analytics_api import token_required
from kb.web.services import reject_empty, services
from kb.web.sessions import require_role
from kb.web.urls import absolute

NAV_ENTRY = ("/admin/health", N_("Content health"), EDITING_ROLES)


def _filters(request: Request) -> Filters:
    """flag (repeatable), lang, category (its sub-categories included), owner; unknown values are a 400."""
    params = request.query_params
    site = services(request).site
    flags = frozenset(f for f in params.getlist("flag") if f)
    unknown = flags - set(FLAGS)
    if unknown:
        raise BadRequest(f"unknown flag {min(unknown)[:40]!r}; one of: {', '.join(FLAGS)}")
    lang = params.get("lang") or None
    category = params.get("category") or None
    languages = sorted({a.lang for a in site.content.articles.values()})
    check_filters(site.content.categories, category, lang=lang, languages=languages)
    owner = (params.get("owner") or "").strip() or None
    if owner is not None and len(owner) > 64:
        raise BadRequest("owner must be an account name of at most 64 characters")
    return Filters(flags, lang, frozenset(site.descendants(category)) if category else None, owner)


async def health_page(request: Request) -> Response:
    user = await require_role(request, *EDITING_ROLES)
    svc = services(request)
    filters = _filters(request)
    report = await svc.health.report(filters)
    site = svc.site
    owners = sorted({a.owner for a in site.content.articles.values() if a.owner}, key=str.casefold)
    return render(request, "admin/health.html", {
        "report": report, "filters": filters, "flag_labels": FLAG_LABELS,
        "category": request.query_params.get("category", ""),
        "languages": sorted({a.lang for a in site.content.articles.values()}),
        "categories": sorted(((k, " › ".join(c.title("en") for c in site.ancestors(k)))
                              for k in site.content.categories), key=lambda kv: kv[1].casefold()),
        "owners": owners,
    }, user=user)


async def mark_reviewed(request: Request) -> Response:
    user, posted = await checked_form(request, *EDITING_ROLES)
    svc = services(request)
    lang, slug = str(request.path_params["lang"]), str(request.path_params["slug"])
    article = svc.editor.article(lang, slug)
    note = posted.get("note", "")
    await svc.health.mark_reviewed(article, user.name, note if isinstance(note, str) else "")
    return redirect(edit_url(lang, slug) + "?" + urlencode({"done": "reviewed"}))


async def health_feed(request: Request) -> Response:
    """The Atom feed, for feed readers that cannot send a header: the token is in the URL."""
    svc = services(request)
    token = request.query_params.get("token", "")
    if await svc.tokens.check(token) is None:
        return Response("a valid API token is required (?token=...)\n", status_code=401,
                        media_type="text/plain", headers={"Cache-Control": "no-store"})
    report = await svc.health.report(_filters(request))
    base = absolute(request, "")
    body = atom(report, base=base, self_url=base + "/admin/health/feed.xml", title="kb: content health")
    return Response(body, media_type="application/atom+xml", headers={"Cache-Control": "no-store"})


@token_required
async def api_health(request: Request) -> Response:
    reject_empty(request, "flag", "lang", "category", "owner")
    report = await services(request).health.report(_filters(request))
    return JSONResponse(report.export())


# --- OpenAPI ------------------------------------------------------------------------------------

_FLAG = {"type": "object", "required": ["flag", "reason", "since"], "properties": {
    "flag": {"type": "string", "enum": list(FLAGS)}, "reason": {"type": "string"},
    "since": {"type": "string", "format": "date-time"}, "link": {"type": ["string", "null"]}}}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "HealthFlag": _FLAG,
    "HealthArticle": {"type": "object", "required": ["article_id", "lang", "slug", "flags"], "properties": {
        "article_id": {"type": "integer"}, "lang": {"type": "string"}, "slug": {"type": "string"},
        "title": {"type": "string"}, "category": {"type": "string"}, "owner": {"type": ["string", "null"]},
        "path": {"type": "string"},
        "flags": {"type": "array", "items": {"$ref": "#/components/schemas/HealthFlag"}}}},
    "Health": {"type": "object", "required": ["counts", "total", "results"], "properties": {
        "counts": {"type": "object", "properties": {name: {"type": "integer"} for name in FLAGS}},
        "total": {"type": "integer"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/HealthArticle"}}}},
}
_ERROR = {"$ref": "#/components/responses/Error"}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/health": {"get": {
        "summary": "Articles that need an editor: each flag with its reason and since when",
        "security": [{"apiToken": []}],
        "parameters": [
            {"name": "flag", "in": "query", "style": "form", "explode": True,
             "schema": {"type": "array", "items": {"type": "string", "enum": list(FLAGS)}},
             "description": "Only articles with one of these flags (repeat the parameter)."},
            {"name": "lang", "in": "query", "schema": LANG},
            {"name": "category", "in": "query", "schema": CATEGORY,
             "description": "A category key; its sub-categories are included."},
            {"name": "owner", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 64},
             "description": "The account named by the articles' `owner:` field."},
        ],
        "responses": {"200": {"description": "The flagged articles", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Health"}}}}, "400": _ERROR, "401": _ERROR},
    }},
}

routes = [
    Route("/admin/health", health_page, name="admin_health"),
    Route("/admin/health/feed.xml", health_feed, name="admin_health_feed"),
    Route("/admin/health/{lang}/{slug}/reviewed", mark_reviewed, methods=["POST"], name="admin_mark_reviewed"),
    Route("/api/v1/health", api_health, name="api_health"),
]
