"""Feedback routes: the no-JavaScript form and the JSON votes API. Thin: parse, call kb.feedback.

CSRF: the HTML form carries a token bound to the visitor (check_csrf). The JSON API needs no
token because it only accepts `Content-Type: application/json`: a cross-site page can send that
header only through fetch/XHR, which makes the browser ask this site first (a CORS preflight)
and this site never grants it; plain cross-site forms can only send form or text bodies, which
get a 415. On top of that the visitor cookie is SameSite=Lax, so cross-site POSTs carry none.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from kb.analytics.visitors import is_bot
from kb.content.model import LANG_PATTERN, Article
from kb.content.site import article_url
from kb.errors import BadRequest, KBError, NotFound, UnsupportedMediaType, ValidationFailed
from kb.feedback import MAX_COMMENT, REASONS, Cast, Feedback, Tally, Vote, parse_vote
from kb.web.openapi import LANG
from kb.web.security import check_csrf, hashed_visitor, visitor_id
from kb.web.services import page_lang, services

MAX_BODY = 64 * 1024  # a 2,000-character comment is at most ~24 KB even as JSON \u escapes
# Where the form may send the visitor back to: a page of this site, never another host.
_LOCAL_PATH = re.compile(rf"^/{LANG_PATTERN}/[^\s\\#]*$")

# Reasons and the comment limit, for templates/partials/feedback.html (template globals).
TEMPLATE_GLOBALS: dict[str, Any] = {"feedback_reasons": list(REASONS.items()), "comment_max": MAX_COMMENT}


class BodyTooLarge(KBError):
    status = 413


def feedback_service(request: Request) -> Feedback:
    return services(request).feedback


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _counted(request: Request) -> bool:
    """The visitor filter of page views: a crawler's or a script's vote is kept but not counted,
    so votes per view compare readers with readers."""
    return not is_bot(request.headers.get("user-agent"))


def _api_article(request: Request) -> Article:
    site = services(request).site
    lang = str(request.path_params["lang"])
    if lang not in site.languages:
        raise NotFound("article not found")
    return site.article(lang, str(request.path_params["slug"]))


async def _limited_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge(f"the body must be at most {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge(f"the body must be at most {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def vote_json(vote: Vote | None) -> dict[str, Any] | None:
    if vote is None:
        return None
    return {"helpful": vote.helpful, "reason": vote.reason, "comment": vote.comment,
            "revision": vote.revision, "created_at": vote.created_at, "updated_at": vote.updated_at}


def votes_json(article: Article, tally: Tally, vote: Vote | None) -> dict[str, Any]:
    return {"article_id": article.id, "lang": article.lang, "slug": article.slug,
            "yes": tally.yes, "no": tally.no, "total": tally.total, "vote": vote_json(vote)}


# --- the HTML form (works without JavaScript) --------------------------------------------------


async def vote_form(request: Request) -> Response:
    lang = page_lang(request)
    svc = services(request)
    article = svc.site.article(lang, str(request.path_params["slug"]))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge(f"the form must be at most {MAX_BODY} bytes")
    async with request.form(max_files=0, max_fields=20, max_part_size=MAX_BODY) as form:
        fields = {name: form.get(name) for name in ("csrf_token", "helpful", "reason", "comment", "next")}
    check_csrf(svc.settings.secret_key, visitor_id(request), fields["csrf_token"])
    answer = fields["helpful"]
    try:
        choice = parse_vote({
            "helpful": {"yes": True, "no": False}.get(answer, answer) if isinstance(answer, str) else answer,
            "reason": fields["reason"] or None,
            "comment": fields["comment"] or None,
        })
    except ValidationFailed as exc:  # the error page shows the message: name each problem in it
        problems = "; ".join(f"{name}: {problem}" for name, problem in (exc.details or {}).items())
        raise ValidationFailed(f"The answer is not valid ({problems}).", details=exc.details) from None
    service = feedback_service(request)
    visitor = hashed_visitor(request)
    await service.vote(article, visitor, _address(request), choice, counted=_counted(request))
    back = fields["next"]
    target = back if isinstance(back, str) and _LOCAL_PATH.match(back) else article_url(article)
    return RedirectResponse(f"{target}#feedback-{article.id}", status_code=303)


# --- the JSON API ------------------------------------------------------------------------------


async def post_votes(request: Request) -> Response:
    article = _api_article(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send the vote as JSON with Content-Type: application/json")
    body = await _limited_body(request)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    choice = parse_vote(data)
    service = feedback_service(request)
    visitor = hashed_visitor(request)
    cast: Cast = await service.vote(article, visitor, _address(request), choice, counted=_counted(request))
    return JSONResponse({**votes_json(article, cast.tally, cast.vote), "created": cast.created},
                        status_code=201 if cast.created else 200, headers={"Cache-Control": "no-store"})


async def get_votes(request: Request) -> Response:
    article = _api_article(request)
    service = feedback_service(request)
    tally = await service.tally(article)
    vote = await service.vote_of(hashed_visitor(request), article)
    return JSONResponse(votes_json(article, tally, vote), headers={"Cache-Control": "no-store"})


async def votes(request: Request) -> Response:
    # One route for both methods, so a 405 (PUT, OPTIONS...) lists them all in its Allow header.
    return await (post_votes if request.method == "POST" else get_votes)(request)


routes = [
    Route("/{lang:lang}/articles/{slug}/feedback", vote_form, methods=["POST"], name="feedback_form"),
    Route("/api/v1/articles/{lang}/{slug}/votes", votes, methods=["GET", "POST"], name="api_votes"),
]


# --- OpenAPI -----------------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/responses/Error"}
_PARAMS = [
    {"name": "lang", "in": "path", "required": True, "schema": LANG},
    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
]

OPENAPI_SCHEMAS: dict[str, Any] = {
    "VoteInput": {
        "type": "object", "required": ["helpful"], "additionalProperties": False,
        "properties": {
            "helpful": {"type": "boolean"},
            "reason": {"type": ["string", "null"], "enum": [*REASONS, None],
                       "description": "Only with helpful=false."},
            "comment": {"type": ["string", "null"], "maxLength": MAX_COMMENT,
                        "description": "Only with helpful=false; stored as plain text, control characters removed."},
        },
    },
    "Vote": {
        "type": "object",
        "required": ["helpful", "reason", "comment", "revision", "created_at", "updated_at"],
        "properties": {
            "helpful": {"type": "boolean"},
            "reason": {"type": ["string", "null"], "enum": [*REASONS, None]},
            "comment": {"type": ["string", "null"]},
            "revision": {"type": "string", "description": "The article's content revision when the vote was cast."},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "Votes": {
        "type": "object", "required": ["article_id", "lang", "slug", "yes", "no", "total", "vote"],
        "properties": {
            "article_id": {"type": "integer"}, "lang": {"type": "string"}, "slug": {"type": "string"},
            "yes": {"type": "integer"}, "no": {"type": "integer"}, "total": {"type": "integer"},
            "vote": {"oneOf": [{"$ref": "#/components/schemas/Vote"}, {"type": "null"}],
                     "description": "The calling visitor's vote (visitor cookie), if any."},
            "created": {"type": "boolean", "description": "POST only: false when an earlier vote was replaced."},
        },
    },
}

_VOTES = {"application/json": {"schema": {"$ref": "#/components/schemas/Votes"}}}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/articles/{lang}/{slug}/votes": {
        "get": {
            "summary": "Yes/No tallies of an article, with the calling visitor's vote",
            "parameters": _PARAMS,
            "responses": {"200": {"description": "The tallies", "content": _VOTES}, "404": _ERROR},
        },
        "post": {
            "summary": "Vote whether an article was helpful (one vote per visitor; voting again changes it)",
            "description": "The visitor is the anonymous kb_visitor cookie. A 2xx answer means the "
                           "vote is committed to disk. Rate-limited per visitor and per client address.",
            "parameters": _PARAMS,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/VoteInput"}}}},
            "responses": {
                "201": {"description": "A new vote, with the article's tallies", "content": _VOTES},
                "200": {"description": "The visitor's vote was changed", "content": _VOTES},
                "400": _ERROR, "404": _ERROR, "413": _ERROR,
                "415": {"description": "The body is not JSON", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
                "422": {"description": "A field is not valid; details maps field to message",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "429": {"description": "Too many votes; retry after the Retry-After header's seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "503": {"description": "The database cannot save the vote now (busy, disk full); nothing "
                                       "was saved: retry after the Retry-After header's seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        },
    },
}
