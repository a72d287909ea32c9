"""Machine-facing routes: health, sitemap, robots, Atom feeds, article media, static files."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from kb import i18n
from kb.content.site import article_url, category_url
from kb.i18n import N_
from kb.web.services import page_lang, services
from kb.web.templating import STATIC_CACHE, page_response
from kb.web.urls import absolute

FEED_LIMIT = 20


async def healthz(request: Request) -> Response:
    """Always 200 while pages are served; `search` says whether search is (ok), is being
    built at start (building) or after its index was deleted (rebuilding), or is failing
    to build (unavailable)."""
    svc = services(request)
    site = svc.site
    return JSONResponse({
        "status": "ok",
        "articles": len(site.published()),  # public ones: an internal article is never counted
        "revision": site.revision,
        "search": svc.search.health(),
    })


async def robots(request: Request) -> Response:
    body = f"User-agent: *\nDisallow: /admin/\nDisallow: /api/\n\nSitemap: {absolute(request, '/sitemap.xml')}\n"
    return PlainTextResponse(body)


async def sitemap(request: Request) -> Response:
    site = services(request).site
    entries: list[tuple[str, date | None, list[tuple[str, str]]]] = []
    for lang in site.languages:
        entries.append((absolute(request, f"/{lang}/"), None, []))
        for category in site.content.categories.values():
            if site.category_count(lang, category.key):
                entries.append((absolute(request, category_url(lang, category.key)), None, []))
    for article in site.published():
        others = [article, *site.translations(article)]
        entries.append((absolute(request, article_url(article)), article.updated,
                        [(a.lang, absolute(request, article_url(a))) for a in others]))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
              'xmlns:xhtml="http://www.w3.org/1999/xhtml">')]
    for loc, updated, alternates in entries:
        lines.append(f"  <url><loc>{escape(loc)}</loc>")
        if updated:
            lines.append(f"    <lastmod>{updated.isoformat()}</lastmod>")
        for lang, href in alternates:
            lines.append(f'    <xhtml:link rel="alternate" hreflang="{lang}" href="{escape(href)}"/>')
        lines.append("  </url>")
    lines.append("</urlset>\n")
    return page_response(request, "\n".join(lines).encode(), media_type="application/xml")


async def feed(request: Request) -> Response:
    """Atom feed of the most recently updated articles in one language."""
    lang = page_lang(request)
    site = services(request).site
    articles = site.published(lang)[:FEED_LIMIT]

    def stamp(day: date) -> str:
        return datetime.combine(day, time(), tzinfo=UTC).isoformat().replace("+00:00", "Z")

    newest = stamp(articles[0].updated) if articles else "1970-01-01T00:00:00Z"
    title = i18n.gettext(lang, N_("Knowledge base"))
    home = absolute(request, f"/{lang}/")
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">',
             f"  <title>{escape(title)}</title>",
             f'  <link href="{escape(home)}"/>',
             f'  <link rel="self" href="{escape(absolute(request, f"/{lang}/feed.xml"))}"/>',
             f"  <id>{escape(home)}</id>", f"  <updated>{newest}</updated>"]
    for article in articles:
        url = absolute(request, article_url(article))
        parts += ["  <entry>", f"    <title>{escape(article.title)}</title>",
                  f'    <link href="{escape(url)}"/>', f"    <id>{escape(url)}</id>",
                  f"    <updated>{stamp(article.updated)}</updated>",
                  f"    <summary>{escape(article.summary)}</summary>", "  </entry>"]
    parts.append("</feed>\n")
    return page_response(request, "\n".join(parts).encode(), media_type="application/atom+xml")


async def media(request: Request) -> Response:
    """Images and attachments stored next to the articles."""
    path = services(request).site.media_path(str(request.path_params["path"]))
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600",
                                       "X-Content-Type-Options": "nosniff",
                                       "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


class HashedStaticFiles(StaticFiles):
    """A URL carrying the file's hash (?v=...) never changes content, so cache it for a year."""

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = STATIC_CACHE
        return response


def routes(static_dir: str) -> list[Route | Mount]:
    return [
        Route("/healthz", healthz, name="healthz"),
        Route("/robots.txt", robots, name="robots"),
        Route("/sitemap.xml", sitemap, name="sitemap"),
        Route("/{lang:lang}/feed.xml", feed, name="feed"),
        Route("/content/{path:path}", media, name="media"),
        Mount("/static", app=HashedStaticFiles(directory=static_dir), name="static"),
    ]
