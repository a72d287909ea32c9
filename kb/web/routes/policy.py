"""JSON API /api/v1/policies: the policy data the site serves now, with its version and date."""

from __future__ import annotations

import difflib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kb.errors import NotFound
from kb.policy.document import Policy, localize
from kb.policy.schema import KEY_RE
from kb.web.openapi import LANG
from kb.web.services import lang_param, reject_empty, services
from kb.web.templating import etag_matches


def _current(request: Request) -> Policy:
    policy = services(request).site.policy
    if policy is None:
        raise NotFound("no policy data is loaded")
    return policy


def _lang(request: Request) -> str | None:
    """A language of the site, as on /api/v1/search: `?lang=zz` is a 400, not English texts."""
    reject_empty(request, "lang")
    return lang_param(request)


def _answer(request: Request, policy: Policy, lang: str | None, body: dict[str, Any]) -> Response:
    """JSON with an ETag of the version, so clients (another kb, a cache) can poll cheaply."""
    etag = f'"{policy.version}{"-" + lang if lang else ""}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


async def list_policies(request: Request) -> Response:
    policy = _current(request)
    lang = _lang(request)
    return _answer(request, policy, lang, {
        "version": policy.version, "date": policy.date.isoformat(), "source": policy.source,
        "keys": list(policy.keys),
        "values": localize(policy.data, lang) if lang else policy.data,
    })


async def get_policy(request: Request) -> Response:
    policy = _current(request)
    lang = _lang(request)
    key = str(request.path_params["key"])
    found = policy.resolve(key) if KEY_RE.match(key) else None
    if found is None:
        close = difflib.get_close_matches(key, policy.keys, n=1, cutoff=0.75)
        raise NotFound(f"unknown policy key {key[:120]!r}" + (f"; did you mean {close[0]!r}?" if close else ""))
    return _answer(request, policy, lang, {
        "key": key, "kind": found.kind, "version": policy.version, "date": policy.date.isoformat(),
        "value": localize(found.value, lang) if lang else found.value,
    })


_LANG_PARAM = {"name": "lang", "in": "query", "required": False,
               "description": "Reduce every text to this language of the site (English when it has no such "
                              "text).",
               "schema": LANG}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "PolicyDocument": {
        "type": "object", "required": ["version", "date", "source", "keys", "values"],
        "properties": {
            "version": {"type": "string", "description": "Hash of the canonical JSON of the values"},
            "date": {"type": "string", "format": "date", "description": "The date shown as \"as of\""},
            "source": {"type": "string", "description": "policy.yaml or the live service's URL"},
            "keys": {"type": "array", "items": {"type": "string"}},
            "values": {"type": "object", "description": "The policy document (texts per language "
                                                        "unless ?lang= is given)"},
        },
    },
    "PolicyValue": {
        "type": "object", "required": ["key", "kind", "version", "date", "value"],
        "properties": {
            "key": {"type": "string"}, "kind": {"type": "string"},
            "version": {"type": "string"}, "date": {"type": "string", "format": "date"},
            "value": {},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/policies": {"get": {
        "summary": "The current policy data with its version and date",
        "parameters": [_LANG_PARAM],
        "responses": {
            "200": {"description": "The current version", "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyDocument"}}}},
            "304": {"description": "Unchanged since the If-None-Match version"},
            "400": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
        },
    }},
    "/api/v1/policies/{key}": {"get": {
        "summary": "One policy value by dotted key, e.g. premium.commitment.months",
        "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                       _LANG_PARAM],
        "responses": {
            "200": {"description": "The value", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PolicyValue"}}}},
            "304": {"description": "Unchanged since the If-None-Match version"},
            "400": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
        },
    }},
}

routes = [
    Route("/api/v1/policies", list_policies, name="api_policies"),
    Route("/api/v1/policies/{key}", get_policy, name="api_policy"),
]
