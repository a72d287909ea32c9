"""Absolute URLs of this site, for canonical links, sitemaps, feeds and JSON-LD."""

from __future__ import annotations

from starlette.requests import Request

from kb.web.services import services


def site_base(request: Request) -> str:
    """KB_BASE_URL when set (the address readers use behind a proxy), else the request's own
    scheme and host, which TrustedHostMiddleware has limited to the configured hosts."""
    return services(request).settings.base_url or str(request.base_url).rstrip("/")


def absolute(request: Request, path: str) -> str:
    return site_base(request) + path
