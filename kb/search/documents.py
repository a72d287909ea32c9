"""What an article becomes in the index, and when its indexed copy is stale.

Each document carries a fingerprint: the schema version, the file's revision, a digest of its
category names and, for articles that show policy snippets, the policy version. Comparing
fingerprints is how an incremental update finds what to rewrite without rendering anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from typing import Any

from kb.content.model import Article
from kb.content.site import Site
from kb.search.analysis import FIELD_BOOSTS, SCHEMA_VERSION, SECTION_MARK, title_key

# lang -> slug -> fingerprint of the indexed copy
Fingerprints = dict[str, dict[str, str]]


def _category_digest(site: Site, article: Article) -> str:
    titles = "/".join(c.title(article.lang) for c in site.ancestors(article.category))
    return hashlib.sha256(titles.encode()).hexdigest()[:8]


def _policy_version(site: Site) -> str:
    return site.policy_version


# (lang, category) -> _category_digest: one each for a whole comparison of the index, not one
# per article (a start's catch-up at 50,000 articles: 0.2 s).
Digests = dict[tuple[str, str], str]


def _base_fingerprint(site: Site, article: Article, digests: Digests | None = None) -> str:
    key = (article.lang, article.category)
    digest = None if digests is None else digests.get(key)
    if digest is None:
        digest = _category_digest(site, article)
        if digests is not None:
            digests[key] = digest
    return f"{SCHEMA_VERSION}:{article.revision}:{digest}"


def is_stale(stored: str | None, site: Site, article: Article, digests: Digests | None = None) -> bool:
    """An indexed copy is stale when the file, its category names or, for articles that show
    policy snippets, the policy data changed since it was indexed."""
    if stored is None:
        return True
    base, _, policy = stored.partition("|")
    if base != _base_fingerprint(site, article, digests):
        return True
    return bool(policy) and policy != _policy_version(site)


def document(site: Site, article: Article) -> dict[str, Any]:
    """The fields of an article's document (see analysis.build_schema)."""
    rendered = site.rendered(article)
    categories = " ".join(c.title(article.lang) for c in site.ancestors(article.category))
    tags = " ".join(t.replace("-", " ") for t in article.tags)
    headings = " ".join(h.text for h in rendered.headings)
    policy = _policy_version(site) if rendered.policy_keys else ""
    questions = "\n".join(article.questions)
    sections = {"title": article.title, "headings": headings, "tags": tags, "categories": categories,
                "summary": article.summary, "body": rendered.text, "questions": questions}
    return {
        "key": article.slug,
        "id": article.id,
        "title": article.title,
        "summary": article.summary,
        "body": rendered.prose,  # stored for excerpts: what a reader sees, not code or syntax
        "text": SECTION_MARK.join(sections[name].replace(SECTION_MARK, " ") for name in FIELD_BOOSTS),
        "category": article.category,
        "type": article.type,
        "updated": datetime.combine(article.updated, dtime()),
        "fingerprint": f"{_base_fingerprint(site, article)}|{policy}",
        "words": f"{article.title} {article.summary} {tags} {headings} {categories} {rendered.text} {questions}",
        "prefixes": f"{article.title} {tags}",
        "title_words": article.title,
        "title_exact": title_key(article.title),
    }


@dataclass(frozen=True)
class Changes:
    """What one language's index must do to match the site."""

    lang: str
    changed: list[Article]  # new, or stale
    removed: list[str]  # slugs no longer published


def changes(site: Site, stored: Fingerprints,
            keys: Collection[tuple[str, str]] | None = None) -> list[Changes]:
    """Per language with something to do: the articles to (re)index and the slugs to drop.
    With `keys` ((lang, slug)), only those articles are looked at."""
    wanted: dict[str, dict[str, Article]] = {}
    if keys is None:
        for article in site.published():
            wanted.setdefault(article.lang, {})[article.slug] = article
        stored_keys = stored
    else:
        stored_keys = {}
        for lang, slug in keys:
            found_article = site.content.articles.get((lang, slug))
            if found_article is not None and found_article.published and not found_article.internal:
                wanted.setdefault(lang, {})[slug] = found_article
            if slug in stored.get(lang, {}):
                stored_keys.setdefault(lang, {})[slug] = stored[lang][slug]
    found: list[Changes] = []
    digests: Digests = {}
    for lang in sorted(set(wanted) | set(stored_keys)):
        have = stored_keys.get(lang, {})
        want = wanted.get(lang, {})
        removed = [slug for slug in have if slug not in want]
        changed = [a for slug, a in want.items() if is_stale(have.get(slug), site, a, digests)]
        if removed or changed:
            found.append(Changes(lang, changed, removed))
    return found
