"""The OpenAPI document, assembled from the OPENAPI_PATHS / OPENAPI_SCHEMAS of each API module."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build_document(modules: list[ModuleType]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string"}, "details": {"type": "object"}}},
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


def route(document: dict[str, Any]) -> Route:
    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    return Route("/api/v1/openapi.json", openapi, name="openapi")
