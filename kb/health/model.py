"""The flags of content health and what a report of them is: plain data and the labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kb.content.model import Article
from kb.i18n import N_, translations

# In the order the health page lists them.
FLAG_LABELS: dict[str, str] = {
    "translation_behind": N_("Translation behind"),
    "policy_changed": N_("Policy changed"),
    "helpfulness_fell": N_("Helpfulness fell"),
    "reported_incorrect": N_("Reported incorrect"),
    "broken_links": N_("Broken links"),
    "not_reviewed": N_("Not reviewed"),
}
FLAGS = tuple(FLAG_LABELS)
# "Mark reviewed" says "I checked this article as it is now": it clears every flag measured from
# the article's last revision. Helpfulness (the last 30 days' votes) and broken links (the tree
# as it is) stay until the votes or the links change.
REVIEW_FLAGS = frozenset({"translation_behind", "policy_changed", "reported_incorrect", "not_reviewed"})


@dataclass(frozen=True)
class Flag:
    name: str  # one of FLAGS
    # An N_ message, or an N_plural pair counting args["count"], with %(name)s placeholders:
    # translated where it is shown (text).
    message: str | tuple[str, str]
    args: Mapping[str, Any]
    since: str  # ISO 8601 UTC timestamp
    link: str | None = None  # where the reason shows: the source diff, the analytics drill-down

    def text(self, lang: str) -> str:
        """The reason in `lang` (the health page, the editor, the article list)."""
        catalog = translations(lang)
        if isinstance(self.message, tuple):
            template = catalog.ngettext(self.message[0], self.message[1], int(self.args["count"]))
        else:
            template = catalog.gettext(self.message)
        return template % dict(self.args)

    @property
    def reason(self) -> str:
        """The reason in English (CLI, API, feed)."""
        return self.text("en")

    def export(self) -> dict[str, Any]:
        return {"flag": self.name, "reason": self.reason, "since": self.since, "link": self.link}


@dataclass(frozen=True)
class ArticleHealth:
    article: Article
    flags: tuple[Flag, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.flags)


@dataclass(frozen=True)
class Filters:
    """What the health page, the API and the CLI narrow the list to (None or empty: any)."""

    flags: frozenset[str] = frozenset()
    lang: str | None = None
    categories: frozenset[str] | None = None  # a category and its sub-categories
    owner: str | None = None

    def keep(self, found: ArticleHealth) -> bool:
        article = found.article
        return bool(found.flags) and (not self.flags or bool(self.flags & found.names)) \
            and (self.lang is None or article.lang == self.lang) \
            and (self.categories is None or article.category in self.categories) \
            and (self.owner is None or (article.owner or "").casefold() == self.owner.casefold())


@dataclass(frozen=True)
class Report:
    """Every article's health (flagged or not) and the flagged ones the filters keep."""

    articles: dict[tuple[str, str], ArticleHealth]
    rows: list[ArticleHealth] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Flagged articles per flag, over the rows kept."""
        counts = dict.fromkeys(FLAGS, 0)
        for row in self.rows:
            for flag in row.flags:
                counts[flag.name] += 1
        return counts

    def export(self) -> dict[str, Any]:
        return {"counts": self.counts, "total": len(self.rows), "results": [export_row(r) for r in self.rows]}


def export_row(row: ArticleHealth) -> dict[str, Any]:
    a = row.article
    return {"article_id": a.id, "lang": a.lang, "slug": a.slug, "title": a.title, "category": a.category,
            "owner": a.owner, "path": a.path.as_posix(), "flags": [f.export() for f in row.flags]}
