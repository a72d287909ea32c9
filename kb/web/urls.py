"""Absolute URLs of this site, for canonical links, sitemaps, feeds and JSON-LD."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from starlette.requests import Request

from kb.web.services import services


def site_base(request: Request) -> str:
    """KB_BASE_URL when set (the address readers use behind a proxy), else the request's own
    scheme and host, which TrustedHostMiddleware has limited to the configured hosts."""
    return services(request).settings.base_url or str(request.base_url).rstrip("/")


def absolute(request: Request, path: str) -> str:
    return site_base(request) + path


def support_link(support_url: str, subject: str) -> str:
    """KB_SUPPORT_URL carrying what the reader needs help with, so support knows which article
    did not help: a mailto: link gets `subject=` (RFC 6068, spaces as %20); an http(s) contact
    form gets a `subject` query parameter, the URL's own parameters kept. Other URLs as they are."""
    parts = urlsplit(support_url)
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        joiner = "&" if "?" in support_url else "?"
        return f"{support_url}{joiner}subject={quote(subject, safe='')}"
    if scheme in ("http", "https"):
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "subject"]
        return urlunsplit(parts._replace(query=urlencode([*query, ("subject", subject)])))
    return support_url
