"""Results in other languages, for a search that found nothing in the reader's language.

The same search runs in the site's other languages, the default language first, then the others
in order; each result says whether its article exists in the reader's language. Only public
articles are indexed, so nothing internal is ever found this way.
"""

from __future__ import annotations

import dataclasses

from kb.content.site import article_url
from kb.search.results import Hit, SearchResults
from kb.search.service import SearchService

ELSEWHERE_LIMIT = 5  # results per other language


def other_languages(lang: str, languages: tuple[str, ...], default: str) -> list[str]:
    """The languages to try after `lang`: `default` first, then the others in order."""
    others = sorted(code for code in languages if code != lang)
    return sorted(others, key=lambda code: code != default)  # stable: only the default moves


async def search_elsewhere(search: SearchService, lang: str, text: str, default: str, *,
                           category: str | None = None, type: str | None = None,
                           limit: int = ELSEWHERE_LIMIT) -> tuple[SearchResults, ...]:
    """The same search in the other languages, those with results. A hit whose article is also
    published in `lang` carries its address there (`Hit.translation`); the others are not
    translated yet."""
    found: list[SearchResults] = []
    for other in other_languages(lang, search.site.languages, default):
        results = await search.search(other, text, category=category, type=type, limit=limit)
        if results.hits:
            hits = tuple(dataclasses.replace(hit, translation=_translation(search, hit, lang))
                         for hit in results.hits)
            found.append(dataclasses.replace(results, hits=hits))
    return tuple(found)


def _translation(search: SearchService, hit: Hit, lang: str) -> str | None:
    article = search.site.by_id(hit.id, lang)
    return article_url(article) if article is not None and article.lang == lang else None
