"""The core the web routes, the CLI and the search index share: content, rendering, navigation.

Site holds one loaded ContentSet and renders articles on demand, caching each rendering by the
article's revision and the policy data version (read from the PolicyHolder it is given), so a
page is rendered once per change, not once per request. `load()` swaps in a freshly loaded tree
and tells listeners what changed.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from kb.content import stored
from kb.content.loader import ParseCache, load_content
from kb.content.model import Article, Category, ContentSet, Problem, display_path
from kb.content.renders import RenderCache
from kb.content.scan import scan_article_files
from kb.content.synonyms import load_into
from kb.content.update import start_from_snapshot, update_content
from kb.errors import NotFound
from kb.policy.document import Policy, keys_overlap
from kb.policy.holder import PolicyHolder
from kb.render.markdown import Rendered, RenderEnv, Renderer

log = logging.getLogger("kb.site")

# Files next to articles that the site serves (images and attachments; never .md or .yaml).
# The parse cache kept across restarts, in the index folder (rebuilt from the content, like it).
CONTENT_CACHE_FILE = "content-cache.pickle"

SERVED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif", ".pdf",
                             ".mp4", ".webm", ".vtt"})


@dataclass(frozen=True)
class Change:
    """Articles added, changed or removed by a reload, as (lang, slug) keys."""

    changed: frozenset[tuple[str, str]]
    removed: frozenset[tuple[str, str]]
    # False when only the listed articles can have changed (a reload of the files a watcher
    # named): listeners may then look at those alone instead of comparing everything.
    everything: bool = True
    # categories.yaml changed: any article's category names may have (what search indexes),
    # though its file did not.
    categories: bool = False

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed or self.categories)


Listener = Callable[[Change], None]


@dataclass(frozen=True)
class _Catalog:
    """Lookups derived once per load, so page views never scan every article.

    `published` and `counts` hold public articles only: every public list (pages, feeds, sitemap,
    API, the search index) starts from them, so an internal article cannot leak through one that
    forgot a filter. `staff` adds the internal ones for signed-in staff."""

    languages: tuple[str, ...]
    published: dict[str | None, list[Article]]  # public, by language (None: all), newest first
    staff: dict[str | None, list[Article]]  # the same with internal articles
    versions: dict[int, dict[str, Article]]  # id -> lang -> published article (internal too)
    counts: dict[tuple[str, str], int]  # (lang, category) -> public published articles
    internal_counts: dict[str, int]  # category -> internal published articles, any language
    by_path: dict[str, Article]  # file (relative, posix) -> article, drafts too: links

    @classmethod
    def build(cls, content: ContentSet) -> _Catalog:
        # One pass over every article (a start at 50,000 pays for each step of it).
        live = _sorted_listed([a for a in content.articles.values() if a.published])
        published: dict[str | None, list[Article]] = {None: []}
        staff: dict[str | None, list[Article]] = {None: live}
        versions: dict[int, dict[str, Article]] = {}
        counts: dict[tuple[str, str], int] = defaultdict(int)
        internal_counts: dict[str, int] = defaultdict(int)
        public = published[None]
        for article in live:
            lang = article.lang
            staff.setdefault(lang, []).append(article)
            langs = versions.get(article.id)
            if langs is None:
                versions[article.id] = {lang: article}
            else:
                langs[lang] = article
            if article.internal:
                internal_counts[article.category] += 1
                continue
            public.append(article)
            published.setdefault(lang, []).append(article)
            counts[(lang, article.category)] += 1
        return cls(tuple(sorted(k for k in published if k is not None)), published, staff,
                   versions, dict(counts), dict(internal_counts),
                   {a.file: a for a in content.articles.values()})

    def updated(self, old: dict[tuple[str, str], Article], new: dict[tuple[str, str], Article],
                keys: Collection[tuple[str, str]]) -> _Catalog:
        """This catalog with the articles of `keys` as in `new` instead of `old`: what build(new)
        gives, in time proportional to the change (the lists touched are copied, not sorted)."""
        published, staff = dict(self.published), dict(self.staff)
        versions, counts, internal = dict(self.versions), dict(self.counts), dict(self.internal_counts)
        by_path = dict(self.by_path)
        copied: set[tuple[bool, str | None]] = set()

        def lists(article: Article) -> list[list[Article]]:
            found = []
            for public, target in ((False, staff), (True, published)):
                if public and article.internal:
                    continue
                for lang in (None, article.lang):
                    if (public, lang) not in copied:
                        copied.add((public, lang))
                        target[lang] = list(target.get(lang, []))
                    found.append(target[lang])
            return found

        for key in keys:
            before, after = old.get(key), new.get(key)
            if before is not None:
                by_path.pop(before.file, None)
                if before.published:
                    for listed in lists(before):
                        _take_out(listed, before)
                    _count(versions, counts, internal, before, -1)
            if after is not None:
                by_path[after.file] = after
                if after.published:
                    for listed in lists(after):
                        insort(listed, after, key=_listed)
                    _count(versions, counts, internal, after, 1)
        for target in (published, staff):
            for lang in [lang for lang, listed in target.items() if lang is not None and not listed]:
                del target[lang]
        return _Catalog(tuple(sorted(k for k in published if k is not None)), published, staff,
                        versions, counts, internal, by_path)


def _listed(article: Article) -> tuple[int, str, str, str]:
    """The order of lists: newest first, then by title and language (then by file, so that a
    catalog updated in place orders equal titles as a full build does)."""
    return (-article.updated.toordinal(), article.title.lower(), article.lang, article.file)


def _sorted_listed(articles: list[Article]) -> list[Article]:
    """`articles` sorted by _listed, one key at a time from the last (each sort is stable): the
    same order, without comparing 800,000 tuples at 50,000 articles (0.25 -> 0.08 s)."""
    articles.sort(key=attrgetter("file"))
    articles.sort(key=attrgetter("lang"))
    articles.sort(key=lambda article: article.title.lower())
    articles.sort(key=lambda article: -article.updated.toordinal())
    return articles


def _take_out(listed: list[Article], article: Article) -> None:
    at = bisect_left(listed, _listed(article), key=_listed)
    while at < len(listed) and listed[at] is not article:
        at += 1
    if at < len(listed):
        del listed[at]


def _count(versions: dict[int, dict[str, Article]], counts: dict[tuple[str, str], int],
           internal: dict[str, int], article: Article, step: int) -> None:
    """Add (step 1) or take out (step -1) a published article's share of the catalog's maps."""
    langs = dict(versions.get(article.id, {}))
    if step > 0:
        langs[article.lang] = article
    elif langs.get(article.lang) is article:
        del langs[article.lang]
    if langs:
        versions[article.id] = langs
    else:
        versions.pop(article.id, None)
    table: dict[Any, int] = internal if article.internal else counts
    name: Any = article.category if article.internal else (article.lang, article.category)
    table[name] = table.get(name, 0) + step
    if not table[name]:
        del table[name]


def _load_all(site: Site, changed_files: Collection[Path] | None) -> ContentSet:
    """Site.load's full load (the stat of every file unless `changed_files`); a few files
    changed since the last one (at a start: while stopped) are read again alone."""
    fresh, scanned = None, None
    if changed_files is None and site.content_dir.is_dir():
        scanned = scan_article_files(site.content_dir)
        fresh = start_from_snapshot(site.content_dir, site._parsed, scanned)
    if fresh is None:
        fresh = load_content(site.content_dir, site._parsed, changed_files, scanned=scanned)
    load_into(fresh)  # synonyms.yaml: its problems join the content's
    return fresh


def _catalog_of(site: Site, fresh: ContentSet) -> _Catalog:
    """The catalog of a loaded tree. A load that gave the parse cache's snapshot as it was (no
    file changed) gives its catalog too; a new snapshot gets one, and is stored for the next
    start with the files parsed for it."""
    snapshot = site._parsed.snapshot
    if snapshot is None or snapshot.articles is not fresh.articles:
        return _Catalog.build(fresh)
    if isinstance(snapshot.derived, _Catalog):
        return snapshot.derived
    snapshot.derived = catalog = _Catalog.build(fresh)
    if site.cache_file is not None:
        try:
            stored.save(site._parsed, site.cache_file, site.content_dir)
        except OSError as exc:  # a start without it is slower, nothing else
            log.warning("cannot store the content cache %s: %s", site.cache_file, exc)
    return catalog


def article_path(lang: str, slug: str) -> str:
    return f"/{lang}/articles/{quote(slug)}"


def article_url(article: Article) -> str:
    return article_path(article.lang, article.slug)


def category_url(lang: str, key: str) -> str:
    return f"/{lang}/{quote(key)}/"


class Site:
    def __init__(self, content_dir: Path, renderer: Renderer | None = None, *,
                 policy: PolicyHolder | None = None, cache_file: Path | None = None) -> None:
        self.content_dir = content_dir
        self.cache_file = cache_file  # the parse cache kept across restarts (None: not kept)
        self.renderer = renderer or Renderer()
        self._policy = policy or PolicyHolder()  # without one, snippets render as unavailable
        self.content = ContentSet(root=content_dir)
        self._cache = RenderCache()  # bounded by size; the policy keys of each kept apart
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._parsed = ParseCache()  # only files that changed are parsed again on reload
        self._load_lock = threading.RLock()  # one reload at a time (watcher, editor, policy)
        self._catalog = _Catalog.build(self.content)

    # --- loading --------------------------------------------------------------------------

    def load(self, changed_files: Collection[Path] | None = None) -> Change:
        """(Re)read the content tree; log its problems; notify listeners of what changed.

        `changed_files` (.md paths relative to the content folder, as a watcher reports them)
        re-reads only those files; None looks at every file (a stat each, parsing only the
        changed ones). The first load starts from the stored parse cache (`cache_file`)."""
        with self._load_lock, stored.paused_gc():  # its sorts too (a 50,000 start: 1.89 -> 1.45 s)
            if self.cache_file is not None and self._parsed.categories is None:
                stored.restore(self._parsed, self.cache_file, self.content_dir)
            # Files a watcher named: only those, when nothing else can have changed with them.
            updated = None if changed_files is None else update_content(self.content, self._parsed, changed_files)
            fresh, keys = updated if updated is not None else (_load_all(self, changed_files), None)
            with self._lock:
                old, renamed = self.content.articles, self.content.categories != fresh.categories
                self.content = fresh
                if keys is None:
                    self._catalog = _catalog_of(self, fresh)
                    fresh.revision  # hashed here, with the collector paused, not by the first /healthz  # noqa: B018
                    self._cache.keep(fresh.articles.__contains__)
                else:
                    self._catalog = self._catalog.updated(old, fresh.articles, keys)
                    self._cache.drop(k for k in keys if k not in fresh.articles)
            looked_at = fresh.articles.keys() if keys is None else [k for k in keys if k in fresh.articles]
            changed = frozenset(key for key in looked_at
                                if key not in old or old[key].revision != fresh.articles[key].revision)
            removed = frozenset(set(old) - set(fresh.articles)) if keys is None else \
                frozenset(k for k in keys if k in old and k not in fresh.articles)
            for problem in fresh.problems:
                log.warning("content problem: %s", problem)
            change = Change(changed, removed, everything=changed_files is None, categories=renamed)
            self.announce(change)
            return change

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def announce(self, change: Change) -> None:
        """Tell the listeners (the search index) which articles now render differently."""
        if change:
            for listener in list(self._listeners):
                listener(change)

    def showing(self, policy_keys: Collection[str]) -> frozenset[tuple[str, str]]:
        """Articles whose rendering shows one of `policy_keys`, a key inside one or around one."""
        used = {key: self.policy_keys(article) for key, article in self.content.articles.items()}
        return frozenset(key for key, keys in used.items()
                         if any(keys_overlap(u, c) for u in keys for c in policy_keys))

    @property
    def policy(self) -> Policy | None:
        """The policy version pages show now (the holder's)."""
        return self._policy.current

    @property
    def policy_version(self) -> str:
        """The hash of the policy version pages show now ('' without policy data)."""
        return self._policy.version

    @property
    def revision(self) -> str:
        """Identifies what pages show: content plus policy data."""
        return f"{self.content.revision}-{self._policy.version}"

    # --- lookups --------------------------------------------------------------------------

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have published content, in a stable order."""
        return self._catalog.languages

    def article(self, lang: str, slug: str, *, drafts: bool = False, internal: bool = False) -> Article:
        """A published article; a draft only with `drafts`, an internal one only with `internal`
        (signed-in staff): anyone else gets the NotFound of an article that does not exist."""
        found = self.content.articles.get((lang, slug))
        if found is None or (not found.published and not drafts) or (found.internal and not internal):
            raise NotFound("article not found")
        return found

    def translations(self, article: Article, *, internal: bool = False) -> list[Article]:
        """The same article in the other languages, published only (internal ones with `internal`)."""
        versions = self._catalog.versions.get(article.id, {})
        return [versions[lang] for lang in sorted(versions)
                if lang != article.lang and (internal or not versions[lang].internal)]

    def by_id(self, article_id: int, lang: str, *, internal: bool = False) -> Article | None:
        """The article with this id in `lang`, else in any language (English first); internal
        versions only with `internal`."""
        versions = {k: a for k, a in self._catalog.versions.get(article_id, {}).items()
                    if internal or not a.internal}
        return versions.get(lang) or versions.get("en") or next(iter(sorted(versions.items())), (None, None))[1]

    def published(self, lang: str | None = None, *, category: str | None = None,
                  type: str | None = None, internal: bool = False) -> list[Article]:
        """Published public articles (internal ones too with `internal`), newest first, then by title."""
        found = (self._catalog.staff if internal else self._catalog.published).get(lang, [])
        if category is None and type is None:
            return list(found)
        return [a for a in found
                if (category is None or a.category == category) and (type is None or a.type == type)]

    def counts_by_type(self, lang: str) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for article in self.published(lang):
            counts[article.type] += 1
        return dict(counts)

    # --- categories -----------------------------------------------------------------------

    def category(self, key: str, *, internal: bool = False) -> Category:
        """A category; without `internal`, one whose articles are all internal is NotFound, like
        a category that does not exist (an empty one still shows: it hides nothing)."""
        found = self.content.categories.get(key)
        if found is None or not (internal or self.public_category(key)):
            raise NotFound("category not found")
        return found

    def public_category(self, key: str) -> bool:
        """False when the category and its sub-categories hold internal articles and no public one."""
        family = self.descendants(key)
        if not any(self._catalog.internal_counts.get(k) for k in family):
            return True
        return any(count for (_, k), count in self._catalog.counts.items() if k in family)

    def children(self, parent: str | None) -> list[Category]:
        return sorted((c for c in self.content.categories.values() if c.parent == parent),
                      key=lambda c: (c.order, c.key))

    def ancestors(self, key: str) -> list[Category]:
        """From the top-level category down to `key` itself."""
        chain: list[Category] = []
        current = self.content.categories.get(key)
        while current is not None and current not in chain:
            chain.insert(0, current)
            current = self.content.categories.get(current.parent) if current.parent else None
        return chain

    def descendants(self, key: str) -> set[str]:
        found = {key}
        for child in self.children(key):
            found |= self.descendants(child.key)
        return found

    def category_count(self, lang: str, key: str) -> int:
        """Published articles in the category and its sub-categories."""
        return sum(self._catalog.counts.get((lang, k), 0) for k in self.descendants(key))

    def related(self, article: Article, limit: int = 5) -> list[Article]:
        """Same language; the same category and shared tags weigh most, then a related category.
        Internal articles only relate to an internal one (a staff page)."""
        tags = set(article.tags)
        family = {c.key for c in self.ancestors(article.category)} | {c.key for c in self.children(article.category)}
        scored = []
        for other in self.published(article.lang, internal=article.internal):
            if other.key == article.key:
                continue
            score = (2 * len(tags & set(other.tags)) + (3 if other.category == article.category else 0)
                     + (1 if other.category in family else 0))
            if score:
                scored.append((-score, other.title.lower(), other))
        related: list[Article] = []
        titles = {article.title.lower()}  # one link per title: copies in other folders repeat it
        for _, title, other in sorted(scored, key=lambda t: (t[0], t[1])):
            if title not in titles and len(related) < limit:
                titles.add(title)
                related.append(other)
        return related

    # --- rendering ------------------------------------------------------------------------

    def rendered(self, article: Article) -> Rendered:
        policy = self._policy.current  # once: the stamp and the rendering share one version
        stamp = (article.revision, policy.version if policy is not None else "")
        if (cached := self._cache.get(article.key, stamp)) is None:
            cached = self._render(article.source, article, policy)
            self._cache.put(article.key, stamp, cached)
        return cached

    def policy_keys(self, article: Article) -> frozenset[str]:
        """The policy keys the article's page shows (rendered again only when not known)."""
        found = self._cache.policy_keys(article.key, (article.revision, self._policy.version))
        return found if found is not None else self.rendered(article).policy_keys

    def render_source(self, source: str, article: Article, *, checking: bool = False) -> Rendered:
        """Render any text as if it were `article`'s file (used by previews too).

        `checking` renders for a report (kb check): problems are returned, not logged."""
        return self._render(source, article, self._policy.current, checking=checking)

    def _render(self, source: str, article: Article, policy: Policy | None, *,
                checking: bool = False) -> Rendered:
        env = RenderEnv(resolve=lambda href: self.resolve_link(article, href), policy=policy,
                        lang=article.lang, extra={"checking": checking})
        return self.renderer.render(source, env)

    def resolve_link(self, article: Article, href: str) -> str | None:
        """Map a relative link in `article` to a site URL, or None when nothing is there."""
        path_part, hash_mark, fragment = href.partition("#")
        path_part = path_part.split("?")[0]
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(article.file), path_part))
        if joined.startswith(("..", "/")):
            return None
        target = PurePosixPath(joined)
        suffix = f"#{fragment}" if hash_mark else ""
        if target.suffix == ".md":
            linked = self._catalog.by_path.get(target.as_posix())
            return article_url(linked) + suffix if linked else None
        if target.suffix.lower() in SERVED_SUFFIXES and (self.content_dir / target).is_file():
            return "/content/" + quote(target.as_posix())
        return None

    def media_path(self, relative: str) -> Path:
        """The file behind /content/{relative}, refusing anything outside the content tree."""
        target = PurePosixPath(posixpath.normpath(relative))
        if (relative.startswith("/") or ".." in target.parts
                or target.suffix.lower() not in SERVED_SUFFIXES):
            raise NotFound("file not found")
        path = self.content_dir / target
        if not path.is_file():
            raise NotFound("file not found")
        return path

    # --- checking -------------------------------------------------------------------------

    def check(self) -> list[Problem]:
        """Every problem of the tree, rendering included (links, and policy snippets against the
        version the holder serves; policy.yaml's own problems are kb.policy.sources.load_file's)."""
        problems = list(self.content.problems)
        for article in self.content.articles.values():
            shown = display_path(self.content_dir, article.path)
            for line, message in self.render_source(article.source, article, checking=True).problems:
                problems.append(Problem(shown, line, message))
        return sorted(set(problems))
