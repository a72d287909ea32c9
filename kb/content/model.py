"""The content model: categories, articles and the problems found in them, with their rules.

Plain data shared by every area; kb.content.loader builds it from the files.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from kb.errors import BadRequest

ARTICLE_TYPES = ("faq", "tutorial", "video")
STATUSES = ("draft", "published")
# Who may read a published article: everyone, or only signed-in staff (editors' guides, notes).
VISIBILITIES = ("public", "internal")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
LANG_PATTERN = "[a-z]{2}"  # a language of the content: its folder, its URLs, its policy texts
LANG_RE = re.compile(f"^{LANG_PATTERN}$")
# An account name (kb.auth.NAME_RE, which this layer cannot import): the `owner:` of an article.
OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# The icons a category may show on the home page (`icon:` in categories.yaml): each is a
# <symbol id="icon-NAME"> of static/icons.svg (tests/unit/test_category_icons.py keeps them in step).
CATEGORY_ICONS = ("folder", "key", "star", "help", "book", "chat", "card", "shield", "gear", "video")
DEFAULT_CATEGORY_ICON = "folder"
MAX_QUESTIONS = 20  # `questions:` of one article
MAX_QUESTION_CHARS = 200  # one question: a sentence, not a paragraph


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Category:
    key: str
    order: int
    parent: str | None
    titles: dict[str, str]
    descriptions: dict[str, str]
    icon: str = DEFAULT_CATEGORY_ICON

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get("en") or self.key

    def description(self, lang: str) -> str:
        return self.descriptions.get(lang) or self.descriptions.get("en") or ""


@dataclass(frozen=True)
class Article:
    id: int
    lang: str
    slug: str
    title: str
    summary: str
    category: str
    tags: tuple[str, ...]
    type: str
    status: str
    updated: date
    video: str | None
    file: str  # relative to the content folder, '/'-separated: `path` as text (the parse cache's key)
    source: str  # the whole file, front matter included (line numbers match the file)
    revision: str  # hash of the file's bytes
    owner: str | None = None  # the account answering for the article (content health)
    visibility: str = "public"  # one of VISIBILITIES
    # How customers ask what the article answers (`questions:`): searched like the title,
    # listed as "Also answers" to readers who came from a search.
    questions: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.lang, self.slug)

    @cached_property
    def path(self) -> Path:
        """The file, relative to the content folder: made when first asked (a start restores
        50,000 articles from the parse cache and would spend a quarter second making them all)."""
        return Path(self.file)

    def __getstate__(self) -> dict[str, object]:
        # Pickled (the stored parse cache) without what cached_property added.
        return {name: value for name, value in self.__dict__.items() if name != "path"}

    @property
    def published(self) -> bool:
        return self.status == "published"

    @property
    def internal(self) -> bool:
        """Shown only to signed-in staff: never listed, indexed or served to anyone else."""
        return self.visibility == "internal"


def normalise_phrase(text: str) -> str:
    """How a synonym is kept and compared: NFKC, lowercase, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class Synonyms:
    """One language's synonyms (kb.content.synonyms reads them): groups of equivalent phrases,
    and one-way expansions (key -> targets), normalised. Hashable: search caches by it."""

    equivalent: tuple[tuple[str, ...], ...] = ()
    one_way: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.equivalent or self.one_way)

    @cached_property
    def version(self) -> str:
        """Changes whenever the synonyms do (search result caches are keyed on it)."""
        return hashlib.sha256(repr((self.equivalent, self.one_way)).encode()).hexdigest()[:16] if self else ""

    def group_of(self, phrase: str) -> tuple[str, ...] | None:
        wanted = normalise_phrase(phrase)
        return next((group for group in self.equivalent if wanted in group), None)


@dataclass(frozen=True)
class SynonymSet:
    """synonyms.yaml: Synonyms by language; `revision` is the hash of its bytes ('' when absent)."""

    languages: dict[str, Synonyms] = field(default_factory=dict)
    revision: str = ""

    def of(self, lang: str) -> Synonyms:
        return self.languages.get(lang) or Synonyms()


@dataclass
class ContentSet:
    root: Path
    categories: dict[str, Category] = field(default_factory=dict)
    articles: dict[tuple[str, str], Article] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    synonyms: SynonymSet = field(default_factory=SynonymSet)  # applied by searches, no re-index
    _revision: tuple[tuple[int, int], str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def revision(self) -> str:
        """Changes whenever any article or the category file changes.

        Hashed once (every /healthz and page key asks; 10,000 articles take milliseconds): a
        loaded set is never changed in place (kb.content.update makes a new one), and the sizes
        guard against asking while a loader still fills it."""
        sizes = (len(self.articles), len(self.categories))
        if self._revision is not None and self._revision[0] == sizes:
            return self._revision[1]
        digest = hashlib.sha256()
        for key in sorted(self.articles):
            digest.update(f"{key}:{self.articles[key].revision};".encode())
        digest.update(repr(sorted(self.categories.items())).encode())
        self._revision = (sizes, digest.hexdigest()[:16])
        return self._revision[1]


def check_filters(categories: Collection[str], category: str | None = None, kind: str | None = None,
                  *, lang: str | None = None, languages: Sequence[str] = ()) -> None:
    """The filters of a list, a search or a report (None is "any"): a language of `languages`, a
    category of `categories`, an article type; anything else is a BadRequest naming the value."""
    if lang is not None and lang not in languages:
        raise BadRequest(f"unknown lang {lang[:20]!r}; one of: {', '.join(languages)}")
    if category is not None and category not in categories:
        raise BadRequest(f"unknown category {category[:60]!r}")
    if kind is not None and kind not in ARTICLE_TYPES:
        raise BadRequest(f"type must be one of {', '.join(ARTICLE_TYPES)}")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].rstrip("-") or "article"


def display_path(root: Path, relative: Path) -> str:
    return str(root / relative)
