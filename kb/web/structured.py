"""JSON-LD for search engines: what each article page is, built in Python, safe inside <script>.

FAQPage (question and accepted answer) for FAQs, TechArticle for tutorials, VideoObject for
videos, and a BreadcrumbList from the home page through the categories to the article. Values
come from the same article and rendering the page shows, so they cannot disagree with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from starlette.requests import Request

from kb import i18n
from kb.content.model import Article, Category
from kb.content.site import article_url, category_url
from kb.i18n import N_
from kb.render.markdown import Rendered
from kb.web.urls import site_base

SCHEMA_ORG = "https://schema.org"


def script_json(data: Any) -> str:
    """JSON that cannot end its <script> element or open a comment: <, > and & are escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def article_graph(base: str, article: Article, rendered: Rendered,
                  breadcrumbs: Sequence[Category]) -> dict[str, Any]:
    url = base + article_url(article)
    lang = article.lang
    section = breadcrumbs[-1].title(lang) if breadcrumbs else article.category
    main: dict[str, Any]
    if article.type == "faq":
        main = {
            "@type": "FAQPage", "@id": url + "#faq", "url": url, "name": article.title,
            "inLanguage": lang, "dateModified": article.updated.isoformat(),
            "mainEntity": [{
                "@type": "Question", "name": article.title,
                "acceptedAnswer": {"@type": "Answer", "text": rendered.text, "url": url},
            }],
        }
    elif article.type == "video":
        media = article.video or ""
        absolute = media if media.startswith(("http://", "https://")) else base + media
        is_file = media.lower().endswith((".mp4", ".webm", ".ogv"))
        main = {
            "@type": "VideoObject", "@id": url + "#video", "url": url, "name": article.title,
            "description": article.summary, "inLanguage": lang,
            "uploadDate": article.updated.isoformat(), "transcript": rendered.text,
            ("contentUrl" if is_file else "embedUrl"): absolute,
        }
    else:
        main = {
            "@type": "TechArticle", "@id": url + "#article", "url": url, "headline": article.title,
            "description": article.summary, "inLanguage": lang,
            "dateModified": article.updated.isoformat(), "articleSection": section,
            "keywords": ", ".join(article.tags), "mainEntityOfPage": url,
        }
    trail = [(i18n.gettext(lang, N_("Knowledge base")), f"{base}/{lang}/")]
    trail += [(c.title(lang), base + category_url(lang, c.key)) for c in breadcrumbs]
    trail.append((article.title, url))
    crumbs = {
        "@type": "BreadcrumbList", "@id": url + "#breadcrumbs",
        "itemListElement": [{"@type": "ListItem", "position": n, "name": name, "item": item}
                            for n, (name, item) in enumerate(trail, start=1)],
    }
    return {"@context": SCHEMA_ORG, "@graph": [main, crumbs]}


def structured_data(request: Request, article: Article, rendered: Rendered,
                    breadcrumbs: Sequence[Category]) -> Markup:
    """The <script type="application/ld+json"> element of an article page (a template global)."""
    graph = article_graph(site_base(request), article, rendered, breadcrumbs)
    return Markup('<script type="application/ld+json">') + Markup(script_json(graph)) + Markup("</script>")


TEMPLATE_GLOBALS = {"structured_data": structured_data}
