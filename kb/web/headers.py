"""Security headers on every response: pages, API, static files, errors (500s included).

Routes may send a stricter header of their own (article media has its own policy) and keep it;
the admin area always gets ADMIN_HEADERS, so its error pages are as private as its pages.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere (templates load static/js and static/css only; JSON-LD is
# data, not script, so CSP does not apply to it). Images and videos of articles may be remote; a
# video article's player page (its `video:` when not a file) is framed, sandboxed: a site path or https.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "media-src 'self' https:; frame-src 'self' https:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# JSON and other API bodies never load anything.
API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

PUBLIC_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    # Other sites learn the origin a reader came from, never the path or the search query.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
}
API_HEADERS: Mapping[str, str] = {**PUBLIC_HEADERS, "Content-Security-Policy": API_CSP}
ADMIN_HEADERS: Mapping[str, str] = {
    **PUBLIC_HEADERS,
    "Cache-Control": "no-store",  # drafts, users and analytics never stay in a shared cache
    "Referrer-Policy": "same-origin",
}


def _is_admin(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


class SecurityHeadersMiddleware:
    """Pure ASGI, so streamed responses (exports, static files) pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        admin = _is_admin(path)
        defaults = ADMIN_HEADERS if admin else API_HEADERS if path.startswith("/api/") else PUBLIC_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in defaults.items():
                    if admin:
                        headers[name] = value
                    else:
                        headers.setdefault(name, value)
                policy = headers["content-security-policy"]
                if "frame-ancestors" not in policy:  # a route's own policy is never framed either
                    headers["content-security-policy"] = f"{policy.rstrip('; ')}; frame-ancestors 'none'"
            await send(message)

        await self.app(scope, receive, send_with_headers)
