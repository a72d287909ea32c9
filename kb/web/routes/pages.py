"""Site pages: home, category, article, permalinks. Thin: look up, then render."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kb import i18n
from kb.content.model import Article
from kb.content.site import article_url, category_url
from kb.errors import NotFound
from kb.feedback import Panel
from kb.web.security import hashed_visitor
from kb.web.services import Services, int_param, page_lang, services
from kb.web.sessions import current_user
from kb.web.urls import absolute

# `?from=search` on an article's address: the reader came from a search result (the redirect of
# kb.web.routes.search.search_click adds it), so the page lists the questions it also answers.
FROM_SEARCH = "search"

RECENT_LIMIT = 6
TOP_QUESTIONS = 3  # FAQs named on each home page card, in the category page's order
# A page that shows an internal article is for the signed-in reader alone: no shared cache keeps it.
STAFF_ONLY = {"Cache-Control": "private, no-cache"}


async def is_staff(request: Request) -> bool:
    """Signed in to the admin area, whatever the role: such a reader may see internal articles."""
    return await current_user(request) is not None


async def feedback_panels(request: Request, articles: list[Article]) -> dict[tuple[str, str], Panel]:
    """The visitor's votes for the feedback regions under `articles` (kb.feedback)."""
    return await services(request).feedback.panels(hashed_visitor(request), articles)


async def root(request: Request) -> Response:
    svc = services(request)
    lang = i18n.negotiate(request.headers.get("accept-language"), svc.site.languages,
                          svc.settings.default_lang)
    return RedirectResponse(f"/{lang}/", status_code=302, headers={"Vary": "Accept-Language"})


async def home(request: Request) -> Response:
    lang = page_lang(request)
    svc = services(request)
    site = svc.site
    counts = site.counts_by_type(lang)
    staff = await is_staff(request)
    categories = [(c, site.category_count(lang, c.key)) for c in site.children(None)
                  if staff or site.public_category(c.key)]
    return svc.templates.response(request, lang, "home.html", {
        "faq_count": counts.get("faq", 0),
        "guide_count": counts.get("tutorial", 0) + counts.get("video", 0),
        "categories": categories,
        "top_questions": {c.key: site.published(lang, category=c.key, type="faq")[:TOP_QUESTIONS]
                          for c, _ in categories},
        "recent": site.published(lang)[:RECENT_LIMIT],
        "most_helpful": await svc.feedback.most_helpful(lang, RECENT_LIMIT),
        "canonical": absolute(request, f"/{lang}/"),
        "alternates": [(other, absolute(request, f"/{other}/")) for other in site.languages],
    })


async def category_page(request: Request) -> Response:
    lang = page_lang(request)
    svc = services(request)
    site = svc.site
    staff = await is_staff(request)
    category = site.category(str(request.path_params["category"]), internal=staff)
    faqs = site.published(lang, category=category.key, type="faq", internal=staff)
    size = svc.settings.page_size
    pages = max(1, math.ceil(len(faqs) / size))
    # ?open={id} (a "Link to this FAQ"): that answer is shown open, on the page that holds it; an
    # id not listed here (moved, unpublished) opens nothing and the page shows as usual.
    open_id = int_param(request, "open", 0, minimum=0, maximum=2**31)
    opened = next((index for index, faq in enumerate(faqs) if faq.id == open_id), None)
    page = int_param(request, "page", 1 if opened is None else opened // size + 1, minimum=1, maximum=pages)
    shown = faqs[(page - 1) * size: page * size]
    others = [a for a in site.published(lang, category=category.key, internal=staff) if a.type != "faq"]
    subcategories = [(c, site.category_count(lang, c.key)) for c in site.children(category.key)
                     if staff or site.public_category(c.key)]
    path = category_url(lang, category.key)
    _record_views(request, svc, [a for a in shown if not a.internal])  # each FAQ is shown in full, with its vote widget
    return svc.templates.response(request, lang, "category.html", {
        "category": category,
        "breadcrumbs": site.ancestors(category.key)[:-1],
        "subcategories": subcategories,
        "faqs": [(a, site.rendered(a)) for a in shown],
        "open_id": open_id,
        "feedback": await feedback_panels(request, shown),
        "guides": others,
        "page": page,
        "pages": pages,
        "canonical": absolute(request, path + (f"?page={page}" if page > 1 else "")),
        "alternates": [(other, absolute(request, category_url(other, category.key)))
                       for other in site.languages],
        "translation_urls": {other: category_url(other, category.key) for other in site.languages},
    }, headers=STAFF_ONLY if staff else None)


def _record_views(request: Request, svc: Services, shown: list[Article]) -> None:
    """Queue a view of each article shown in full with its vote widget (kb.analytics.views)."""
    svc.views.record(hashed_visitor(request), request.headers.get("user-agent"), shown)


async def article_page(request: Request) -> Response:
    lang = page_lang(request)
    svc = services(request)
    site = svc.site
    staff = await is_staff(request)
    article = site.article(lang, str(request.path_params["slug"]), internal=staff)
    rendered = site.rendered(article)
    translations = site.translations(article, internal=article.internal)
    if not article.internal:  # an internal page has no vote widget: its readers are staff
        _record_views(request, svc, [article])  # queued, never awaited
    return svc.templates.response(request, lang, "article.html", {
        "article": article,
        "rendered": rendered,
        "category": site.category(article.category, internal=True),
        "breadcrumbs": site.ancestors(article.category),
        "related": site.related(article),
        "translations": translations,
        "canonical": absolute(request, article_url(article)),
        "alternates": [(a.lang, absolute(request, article_url(a))) for a in [article, *translations]],
        "translation_urls": {a.lang: article_url(a) for a in [article, *translations]},
        "og_type": "article",
        "feedback": await feedback_panels(request, [article]),
        # a reader who came from a search result (search_click's redirect) sees "Also answers"
        "from_search": request.query_params.get("from") == FROM_SEARCH,
    }, headers=STAFF_ONLY if article.internal else None)


async def permalink(request: Request) -> Response:
    """/faq/{id}: the short link shared by all translations, in the visitor's language."""
    svc = services(request)
    try:
        article_id = int(request.path_params["id"])
    except ValueError:
        raise NotFound("article not found") from None
    lang = i18n.negotiate(request.headers.get("accept-language"), svc.site.languages,
                          svc.settings.default_lang)
    article = svc.site.by_id(article_id, request.query_params.get("lang") or lang,
                             internal=await is_staff(request))
    if article is None:
        raise NotFound("article not found")
    return RedirectResponse(article_url(article), status_code=302, headers={"Vary": "Accept-Language"})


routes = [
    Route("/", root, name="root"),
    Route("/faq/{id}", permalink, name="permalink"),
    Route("/{lang:lang}/", home, name="home"),
    Route("/{lang:lang}/articles/{slug}", article_page, name="article"),
    Route("/{lang:lang}/{category}/", category_page, name="category"),
]
