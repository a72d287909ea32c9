"""The OpenAPI document, assembled from the OPENAPI_PATHS / OPENAPI_SCHEMAS of each API module.

Which languages and categories exist depends on the content, so the document names them in two
component schemas, Lang and Category, that every `lang` and `category` parameter refers to; the
served document fills them with the site's current values (with_site). Clients can read the
valid values there, and a value outside them is answered 400 (query) or 404 (path), as documented.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kb.content.site import Site
from kb.web.services import services

LANG = {"$ref": "#/components/schemas/Lang"}
CATEGORY = {"$ref": "#/components/schemas/Category"}


def build_document(modules: list[ModuleType]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string"}, "details": {"type": "object"}}},
        "Lang": {"type": "string", "description": "A language the site has published content in."},
        "Category": {"type": "string", "description": "A category key (categories.yaml)."},
    }
    for module in modules:
        for path, operations in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "kb knowledge base API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": {"description": "An error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }


def with_site(document: dict[str, Any], site: Site) -> dict[str, Any]:
    """The document with Lang and Category listing the site's current values (a shallow copy:
    the shared document is never changed)."""
    schemas = dict(document["components"]["schemas"])
    languages = sorted(site.languages)
    categories = sorted(site.content.categories)
    if languages:  # an empty enum is not valid JSON Schema; a site without content keeps "string"
        schemas["Lang"] = {**schemas["Lang"], "enum": languages}
    if categories:
        schemas["Category"] = {**schemas["Category"], "enum": categories}
    return {**document, "components": {**document["components"], "schemas": schemas}}


def route(document: dict[str, Any]) -> Route:
    # One copy per content version: languages and categories change only when the content does.
    cached: dict[str, dict[str, Any]] = {}

    async def openapi(request: Request) -> Response:
        site = services(request).site
        key = site.content.revision
        if key not in cached:
            cached.clear()
            cached[key] = with_site(document, site)
        return JSONResponse(cached[key])

    return Route("/api/v1/openapi.json", openapi, name="openapi")
