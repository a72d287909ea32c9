"""Full-text search: the one module of kb that imports Whoosh.

It owns the schema and the per-language analysis, builds and updates the index, and answers
queries (ranking, typo tolerance, "did you mean", phrases, exclusions, facets, highlighting,
suggestions). Whoosh is synchronous with one writer per index: searches run in a thread pool on
the last committed generation, writes go through one worker thread and one lock.

Layout of KB_INDEX_DIR:

    CURRENT         name of the build being served; replaced atomically (os.replace)
    PREVIOUS        name of the build CURRENT named before the last swap: kept, because other
                    processes may still read it until their next look at CURRENT
    b-<stamp>/      a complete build: one Whoosh index per language (indexname = the language)
                    and kb-index.json (schema version, languages)
    tmp-<stamp>/    a full rebuild in progress; swapped in by renaming it and rewriting CURRENT,
                    so a rebuild killed at any moment leaves the previous build serving
    .rebuild.lock   flock held while rebuilding (stale tmp- folders are removed under it)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import hashlib
import html
import json
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from whoosh import index as whoosh_index
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    NgramFilter,
    RegexTokenizer,
)
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.highlight import ContextFragmenter, Formatter, get_text, highlight
from whoosh.lang import NoStemmer, NoStopWords, stemmer_for_language, stopwords_for_language
from whoosh.query import And, AndNot, ConstantScoreQuery, NullQuery, Phrase, Query, Term
from whoosh.query import DefaultOr as Or  # binary union trees; the "preloaded" Or is slow to set up
from whoosh.reading import SegmentReader
from whoosh.scoring import BM25F
from whoosh.support.charset import accent_map

from kb.content.model import Article
from kb.content.site import Change, Site, article_path

log = logging.getLogger("kb.search")

SCHEMA_VERSION = 4  # 4: analyzers live in kb.search.* (Whoosh pickles class paths); 3: "_" splits words
MAX_QUERY_CHARS = 500  # longer queries are cut (the search box allows as much)
MAX_TERMS = 16  # words, phrases and exclusions beyond this are ignored
SUGGEST_LIMIT = 8
NGRAM_MAX = 24
WRITE_TIMEOUT = 10.0  # seconds to wait for another writer's lock (another process)
POLL_SECONDS = 0.5  # how often searches look for commits made by other processes
RETRY_SECONDS = 2.0
BUILD_RETRY_SECONDS = 30.0  # after a failed full build (disk full, folder not writable)
READY_WAIT_SECONDS = 5.0  # a search made while the index is built waits this long before a 503
RETRY_AFTER_SECONDS = 5  # what a 503 tells clients while the index is built
PROCESS_BUILD_MIN = 300  # published articles from which a full build runs in a child process
HIGHLIGHT_CHARS = 600  # highlighting re-analyses the text: give it a window around the first match
CACHE_SIZE = 2048

# Ranking is BM25F: the sections of an article go into one field, each occurrence of a word
# weighing what its section weighs (title > headings and tags > summary > body), so the
# weighted frequencies add up before BM25 saturates them. One field also keeps queries cheap:
# one term per word form, not one per section.
FIELD_BOOSTS: dict[str, float] = {
    "title": 6.0, "headings": 3.0, "tags": 3.0, "categories": 1.5, "summary": 2.0, "body": 1.0,
}
SECTION_MARK = "\x1e"  # separates the sections in the text field's value (never in a query)
SECTION_GAP = 100  # positions between sections, so a phrase cannot span two of them
RARE_FREQUENCY = 2  # a word in at most this many articles may still be a typo
# Ranking tiers, added to the BM25F score (at most MAX_TERMS words of ~25 each, so < 1,000):
# an article whose title is the query comes first, then those whose title has every word.
EXACT_TITLE_SCORE = 10_000.0
TITLE_WORDS_SCORE = 1_000.0
CORRECTION_WEIGHT = 0.2  # a rare word's likely correction, searched alongside it

CURRENT_FILE = "CURRENT"
PREVIOUS_FILE = "PREVIOUS"
MANIFEST_FILE = "kb-index.json"
LOCK_FILE = ".rebuild.lock"
_TOC_RE = re.compile(r"^_([a-z]{2})_(\d+)\.toc$")
_WORD_RE = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)
# Words for every analyzer: letters and digits, with inner dots ("2.7", "acme.sh"); "_" and
# "-" separate words ("about_Aliases" is "about aliases", as typed).
TOKEN_PATTERN = r"[^\W_]+(?:\.?[^\W_]+)*"
_TITLE_KEY_RE = re.compile(r"[^\W_]+[+#]*")  # "C++" stays "c++", "Set-PSBreakpoint" is "set psbreakpoint"
# A "-" that starts a word and is followed by a letter excludes it; "--dns", "-1" are words.
_EXCLUDE_RE = re.compile(r"-[^\W\d_]")


class SearchBusy(Exception):
    """Another process holds the index's write lock; the update is retried later."""


class SearchUnavailable(Exception):
    """No index to search yet: it is being built (at start, or after it was deleted)."""

    def __init__(self, status: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(f"the search index is {status}")
        self.status = status
        self.retry_after = retry_after


# --- analysis -----------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lowercase without accents: "Código" -> "codigo"."""
    return text.lower().translate(accent_map)


@cache
def _stopwords(lang: str) -> frozenset[str]:
    try:
        return frozenset(fold(w) for w in stopwords_for_language(lang))
    except NoStopWords:
        return frozenset()


@cache
def _stem_pair(lang: str) -> Callable[[str], tuple[str, str | None]]:
    """word -> (stem of the folded word, stem of the word folded when it differs).

    Folding first makes "codigo" and "código" the same term; the second form keeps what the
    stemmer only recognises with accents ("cancelación" -> "cancel", like "cancelar").
    """
    try:
        stem: Callable[[str], str] | None = stemmer_for_language(lang)
    except NoStemmer:
        stem = None

    @lru_cache(maxsize=200_000)
    def pair(word: str) -> tuple[str, str | None]:
        folded = word.translate(accent_map)
        if stem is None:
            return folded, None
        first = stem(folded)
        second = stem(word).translate(accent_map) if folded != word else first
        return first, (second if second != first else None)

    return pair


class LanguageFilter(Filter):
    """Stop words, accent folding and stemming for one language (tokens arrive lowercased).

    Positions are renumbered over removed stop words, so "cancel the offer" matches the
    phrase "cancel offer" the same way at index and at query time (gaps between sections stay).
    With keep_stops (titles), stop words and one-letter words are kept, marked `stop_word`:
    "until", "vi", "q" or "C++" are whole titles.
    """

    is_morph = True

    def __init__(self, lang: str, keep_stops: bool = False) -> None:
        self.lang = lang
        self.keep_stops = keep_stops

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LanguageFilter) and other.lang == self.lang
                and other.keep_stops == self.keep_stops)

    def __hash__(self) -> int:
        return hash(("LanguageFilter", self.lang, self.keep_stops))

    def __call__(self, tokens: Iterable[Any]) -> Iterator[Any]:
        stops = _stopwords(self.lang)
        pair = _stem_pair(self.lang)
        removed = 0
        for token in tokens:
            text = token.text
            stopped = len(text) < 2 or text.translate(accent_map) in stops
            if stopped and not self.keep_stops:
                if not token.removestops:
                    token.stopped = True
                    yield token
                else:
                    removed += 1
                continue
            if token.positions and removed:
                token.pos -= removed
            token.stopped = False  # Whoosh would not index it
            token.stop_word = stopped
            first, second = pair(text)
            token.text = first
            yield token
            if second is not None:
                token.text = second
                yield token


class SectionTokenizer(RegexTokenizer):  # type: ignore[misc]
    """Words of "title<SECTION_MARK>headings<SECTION_MARK>...", each weighted by its section
    (FIELD_BOOSTS, in order); text without the mark is one section of weight 1."""

    def __call__(self, value: str, positions: bool = False, chars: bool = False, start_pos: int = 0,
                 start_char: int = 0, **kwargs: Any) -> Iterator[Any]:
        if SECTION_MARK not in value:
            yield from super().__call__(value, positions=positions, chars=chars, start_pos=start_pos,
                                        start_char=start_char, **kwargs)
            return
        boosts = list(FIELD_BOOSTS.values())
        pos, char = start_pos, start_char
        for index, section in enumerate(value.split(SECTION_MARK)):
            boost = boosts[index] if index < len(boosts) else 1.0
            last = pos - 1
            for token in super().__call__(section, positions=positions, chars=chars, start_pos=pos,
                                          start_char=char, **kwargs):
                token.boost = boost
                if positions:
                    last = token.pos
                yield token
            pos = last + 1 + SECTION_GAP
            char += len(section) + len(SECTION_MARK)


def text_analyzer(lang: str) -> Any:
    return SectionTokenizer(TOKEN_PATTERN) | LowercaseFilter() | LanguageFilter(lang)


def title_analyzer(lang: str) -> Any:
    """Every word of a title, stop words included (stemmed like the text)."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | LanguageFilter(lang, keep_stops=True)


def title_key(text: str) -> str:
    """A title as compared for an exact match: folded words, one space apart (symbols when
    there is no word: "((" is a title)."""
    folded = fold(text)
    return " ".join(_TITLE_KEY_RE.findall(folded)) or " ".join(folded.split())


def plain_analyzer() -> Any:
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)


def prefix_analyzer() -> Any:
    return plain_analyzer() | NgramFilter(minsize=1, maxsize=NGRAM_MAX, at="start")


def build_schema(lang: str) -> Schema:
    text = text_analyzer(lang)
    return Schema(
        key=ID(unique=True, stored=True, sortable=True),  # the slug
        id=STORED,
        title=STORED,
        summary=STORED,
        body=STORED,  # for excerpts
        text=TEXT(analyzer=text),  # every section, weighted: what searches match and rank
        category=ID(stored=True, sortable=True),
        type=ID(stored=True, sortable=True),
        updated=DATETIME(stored=True, sortable=True),
        fingerprint=ID(stored=True, sortable=True),
        words=TEXT(analyzer=plain_analyzer(), phrase=False),  # unstemmed: typos, "did you mean"
        prefixes=TEXT(analyzer=prefix_analyzer(), phrase=False),  # title and tags: suggestions
        title_words=TEXT(analyzer=title_analyzer(lang), phrase=False),  # ranking: every word in the title
        title_exact=ID(),  # ranking: the title is the query (title_key)
    )


# --- what gets indexed --------------------------------------------------------------------


def _category_digest(site: Site, article: Article) -> str:
    titles = "/".join(c.title(article.lang) for c in site.ancestors(article.category))
    return hashlib.sha256(titles.encode()).hexdigest()[:8]


def _policy_version(site: Site) -> str:
    return str(getattr(site.policy, "version", "") or "")


def _base_fingerprint(site: Site, article: Article) -> str:
    return f"{SCHEMA_VERSION}:{article.revision}:{_category_digest(site, article)}"


def is_stale(stored: str | None, site: Site, article: Article) -> bool:
    """An indexed copy is stale when the file, its category names or, for articles that show
    policy snippets, the policy data changed since it was indexed."""
    if stored is None:
        return True
    base, _, policy = stored.partition("|")
    if base != _base_fingerprint(site, article):
        return True
    return bool(policy) and policy != _policy_version(site)


def document(site: Site, article: Article) -> dict[str, Any]:
    rendered = site.rendered(article)
    categories = " ".join(c.title(article.lang) for c in site.ancestors(article.category))
    tags = " ".join(t.replace("-", " ") for t in article.tags)
    headings = " ".join(h.text for h in rendered.headings)
    policy = _policy_version(site) if rendered.policy_keys else ""
    sections = {"title": article.title, "headings": headings, "tags": tags, "categories": categories,
                "summary": article.summary, "body": rendered.text}
    return {
        "key": article.slug,
        "id": article.id,
        "title": article.title,
        "summary": article.summary,
        "body": rendered.text,
        "text": SECTION_MARK.join(sections[name].replace(SECTION_MARK, " ") for name in FIELD_BOOSTS),
        "category": article.category,
        "type": article.type,
        "updated": datetime.combine(article.updated, dtime()),
        "fingerprint": f"{_base_fingerprint(site, article)}|{policy}",
        "words": " ".join((article.title, article.summary, tags, headings, categories, rendered.text)),
        "prefixes": f"{article.title} {tags}",
        "title_words": article.title,
        "title_exact": title_key(article.title),
    }


# --- queries ------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """NFKC, control characters as spaces, whitespace collapsed, cut to MAX_QUERY_CHARS."""
    text = unicodedata.normalize("NFKC", text[: MAX_QUERY_CHARS * 4])
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(text.split())[:MAX_QUERY_CHARS].strip()


@dataclass(frozen=True)
class ParsedQuery:
    """What the visitor typed: words, "quoted phrases" and -excluded words or phrases.

    Only a "-" starting a word and followed by a letter excludes: "--dns", "-1" and "a-b" are
    words (options and numbers are what people look up). Every other character is taken literally (it only separates words), so no input can be a
    syntax error.
    """

    text: str  # normalised, as typed
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.text.lower()

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases)


_QUOTED_RE = re.compile(r'(^|\s)(-?)"([^"]*)(?:"|$)')


def parse_query(raw: str) -> ParsedQuery:
    text = normalise(raw)
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []

    def quoted(match: re.Match[str]) -> str:
        inner = match.group(3).strip()
        if _WORD_RE.search(inner):
            (excluded if match.group(2) else phrases).append(inner)
        return " "

    rest = _QUOTED_RE.sub(quoted, text)
    for part in rest.replace('"', " ").split():
        if _EXCLUDE_RE.match(part):
            excluded.append(part[1:])
        elif _WORD_RE.search(part):
            words.append(part)
    if not (words or phrases or excluded) and text:
        words.append(text)  # symbols only ("!", "((", "%"): titles in reference material
    budget = MAX_TERMS
    words, budget = words[:budget], max(0, budget - len(words))
    phrases, budget = phrases[:budget], max(0, budget - len(phrases))
    return ParsedQuery(text, tuple(words), tuple(phrases), tuple(excluded[:budget]))


@dataclass(frozen=True)
class Hit:
    id: int
    lang: str
    slug: str
    title: str
    summary: str
    category: str
    type: str
    score: float
    highlight: str  # HTML: escaped text with <mark> around matched words

    @property
    def url(self) -> str:
        return article_path(self.lang, self.slug)


@dataclass(frozen=True)
class SearchResults:
    query: str
    lang: str
    total: int
    hits: tuple[Hit, ...] = ()
    suggestion: str | None = None  # "did you mean"
    facets: dict[str, dict[str, int]] = field(default_factory=lambda: {"category": {}, "type": {}})
    partial: bool = False  # no article has every word: these match some of them
    took_ms: float = 0.0


@dataclass(frozen=True)
class Suggestion:
    id: int
    lang: str
    slug: str
    title: str
    category: str
    type: str

    @property
    def url(self) -> str:
        return article_path(self.lang, self.slug)


class _MarkFormatter(Formatter):  # type: ignore[misc]
    """Escaped excerpt text with <mark> around matches; "…" where the text was cut."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=False)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return "<mark>" + html.escape(get_text(text, token, replace), quote=False) + "</mark>"

    def format(self, fragments: list[Any], replace: bool = False) -> str:
        """One "…" between fragments and at cut ends, never two in a row."""
        if not fragments:
            return ""
        parts = [self.format_fragment(f, replace).strip() for f in fragments]
        before = "… " if fragments[0].startchar > 0 else ""
        after = " …" if fragments[-1].endchar < len(fragments[-1].text) else ""
        return before + self.between.join(parts) + after


def _facet_columns(searcher: Any) -> tuple[list[str], list[str]]:
    """Category and type of every document as plain lists, read once per searcher.

    A column reader costs microseconds per lookup; facet counts look up every match, so a
    list index (nanoseconds) is what keeps uncached searches of common words fast.
    """
    cached = getattr(searcher, "_kb_facets", None)
    if cached is None:
        reader = searcher.reader()
        cached = (list(reader.column_reader("category")), list(reader.column_reader("type")))
        searcher._kb_facets = cached
    return cached


# --- the index ----------------------------------------------------------------------------


@dataclass
class _Build:
    name: str
    path: Path
    indexes: dict[str, Any]  # lang -> whoosh FileIndex
    generations: dict[str, int]


@dataclass
class _Compiled:
    query: Query
    terms: frozenset[str]  # body terms to highlight
    suggestion: str | None
    clauses: list[Query]
    excluded: Query | None


class SearchIndex:
    """The index on disk: open, build, update, query. Thread-safe; no asyncio here."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._write_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._build: _Build | None = None
        self._polled = 0.0
        self._local = threading.local()
        self._searchers: set[Any] = set()
        self._fingerprints: dict[str, dict[str, str]] | None = None
        self._analyzers: dict[str, Any] = {}
        self.weighting = BM25F(B=0.75, K1=1.2)
        # Called (once, from whichever thread noticed) when the open build vanished: the
        # index folder was deleted under a running site. The service rebuilds it.
        self.on_lost: Callable[[str], None] | None = None

    # --- opening --------------------------------------------------------------------------

    def open(self) -> bool:
        """Open the build named by CURRENT; False (with a log line) when it is missing or unusable."""
        try:
            name = _read_name(self.root / CURRENT_FILE)
        except FileNotFoundError:
            log.info("no search index in %s yet", self.root)
            return False
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", self.root / CURRENT_FILE, exc)
            return False
        problem = ""
        with warnings.catch_warnings():
            # Whoosh leaves files open when it fails to read a damaged index: close them
            # now, quietly, rather than warn about them later.
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                build = self._open_build(name)
                self._check(build)
            except Exception as exc:  # any damage means: rebuild
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                gc.collect()
        if problem:
            log.warning("the search index in %s is unusable (%s)", self.root, problem)
            return False
        with self._state_lock:
            self._build = build
            self._fingerprints = None
            self._polled = time.monotonic()
        return True

    def _open_build(self, name: str) -> _Build:
        if not re.fullmatch(r"b-[\w.-]+", name):
            raise ValueError(f"bad build name {name!r}")
        path = self.root / name
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"schema version {manifest.get('schema')} is not {SCHEMA_VERSION}")
        generations = _toc_generations(path)
        indexes = {lang: whoosh_index.open_dir(str(path), indexname=lang) for lang in generations}
        return _Build(name, path, indexes, generations)

    def _check(self, build: _Build) -> None:
        for ix in build.indexes.values():
            with ix.searcher() as searcher:
                reader = searcher.reader()
                for docnum in reader.all_doc_ids():
                    reader.stored_fields(docnum)
                    break
                list(searcher.docs_for_query(Term("words", "a")))

    def _current(self) -> _Build | None:
        """The build to search, noticing (at most every POLL_SECONDS) another process's commits
        and a build that vanished (the index folder deleted under a running site)."""
        build = self._build
        now = time.monotonic()
        if build is None or now - self._polled < POLL_SECONDS:
            return build
        lost = ""
        with self._state_lock:
            if now - self._polled < POLL_SECONDS or self._build is not build:
                return self._build
            self._polled = now
            try:
                name = _read_name(self.root / CURRENT_FILE)
                if name != build.name:
                    log.info("search index switched to %s", name)
                    self._build = self._open_build(name)
                    self._fingerprints = None
                else:
                    fresh = _toc_generations(build.path)
                    for lang in fresh.keys() - build.indexes.keys():
                        build.indexes[lang] = whoosh_index.open_dir(str(build.path), indexname=lang)
                    build.generations = fresh
            except FileNotFoundError as exc:
                # CURRENT or the build's folder is gone: nothing will bring it back but a
                # rebuild. Drop the build now, so this is said once, not on every poll.
                lost = f"{exc.strerror}: {exc.filename}"
                self._build = None
                self._fingerprints = None
            except Exception as exc:  # keep serving what is open
                log.warning("cannot check the search index for changes: %s", exc)
            found = self._build
        if lost:
            if self.on_lost is not None:
                self.on_lost(lost)  # says so, once
            else:
                log.warning("the search index in %s is gone (%s)", self.root, lost)
        return found

    def poll(self, force: bool = False) -> bool:
        """Look for changes (now, or at most every POLL_SECONDS); False when no build is open."""
        if force:
            self._polled = 0.0
        return self._current() is not None

    def token(self, lang: str) -> tuple[str, int]:
        """Changes whenever what a search in `lang` would see changes (for result caches)."""
        build = self._current()
        if build is None:
            return ("", -1)
        return (build.name, build.generations.get(lang, -1))

    @property
    def is_open(self) -> bool:
        return self._build is not None

    def languages(self) -> tuple[str, ...]:
        build = self._build
        return tuple(sorted(build.indexes)) if build else ()

    def close(self) -> None:
        with self._state_lock:
            searchers, self._searchers = self._searchers, set()
            self._build = None
        for searcher in searchers:
            try:
                searcher.close()
            except Exception:  # noqa: S110 - closing what may already be closed
                pass

    def analyzer(self, lang: str) -> Any:
        found = self._analyzers.get(lang)
        if found is None:
            found = self._analyzers[lang] = text_analyzer(lang)
        return found

    # --- searchers: one per thread and language, on the last committed generation ----------

    def _searcher(self, lang: str) -> Any | None:
        build = self._current()
        if build is None or lang not in build.indexes:
            return None
        generation = build.generations.get(lang, -1)
        mine: dict[str, tuple[str, int, Any]] = self._local.__dict__.setdefault("searchers", {})
        held = mine.get(lang)
        if held is not None and held[0] == build.name and held[1] == generation:
            return held[2]
        # A fresh searcher, not Searcher.refresh(): refresh reuses the reader of a segment
        # whose deletions changed, so updated or removed articles would still be found.
        if held is not None:
            self._forget(held[2])
            held[2].close()
        try:
            searcher = build.indexes[lang].searcher(weighting=self.weighting)
        except Exception:  # the build was replaced and removed by another process: look again
            self._polled = 0.0
            build = self._current()
            if build is None or lang not in build.indexes:
                return None
            generation = build.generations.get(lang, -1)
            searcher = build.indexes[lang].searcher(weighting=self.weighting)
        with self._state_lock:
            self._searchers.add(searcher)
        mine[lang] = (build.name, generation, searcher)
        return searcher

    def _forget(self, searcher: Any) -> None:
        with self._state_lock:
            self._searchers.discard(searcher)

    # --- building -------------------------------------------------------------------------

    def rebuild(self, site: Site, progress: Callable[[int], None] | None = None,
                total: Callable[[int], None] | None = None) -> int:
        """Build every published article aside, then swap it in; returns the article count."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._write_lock, _flock(self.root / LOCK_FILE):
            self._remove_stale()
            stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{os.urandom(3).hex()}"
            tmp = self.root / f"tmp-{stamp}"
            tmp.mkdir()
            articles = site.published()
            if total:
                total(len(articles))
            by_lang: dict[str, list[Article]] = {}
            for article in articles:
                by_lang.setdefault(article.lang, []).append(article)
            fingerprints: dict[str, dict[str, str]] = {}
            for lang, group in sorted(by_lang.items()):
                ix = whoosh_index.create_in(str(tmp), build_schema(lang), indexname=lang)
                writer = ix.writer(limitmb=256)
                try:
                    found = fingerprints.setdefault(lang, {})
                    for article in group:
                        doc = document(site, article)
                        writer.add_document(**doc)
                        found[article.slug] = doc["fingerprint"]
                        if progress:
                            progress(1)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                ix.close()
            (tmp / MANIFEST_FILE).write_text(json.dumps({
                "schema": SCHEMA_VERSION, "languages": sorted(by_lang), "articles": len(articles),
                "built": datetime.now().astimezone().isoformat(timespec="seconds"),
            }), encoding="utf-8")
            _fsync_tree(tmp)  # complete on disk before CURRENT names it, even after a power cut
            name = f"b-{stamp}"
            os.rename(tmp, self.root / name)
            try:
                previous = _read_name(self.root / CURRENT_FILE)
            except (OSError, ValueError):
                previous = None
            # Remember what was served before the swap: _remove_stale keeps exactly that one
            # (names do not sort by age: two builds in one second differ by a random suffix).
            if previous and previous != name:
                _write_atomically(self.root / PREVIOUS_FILE, previous + "\n")
            _write_atomically(self.root / CURRENT_FILE, name + "\n")
            build = self._open_build(name)
            with self._state_lock:
                self._build = build
                self._fingerprints = fingerprints
                self._polled = time.monotonic()
            self._remove_stale()
            return len(articles)

    def _remove_stale(self) -> None:
        """Under the rebuild lock: unfinished rebuilds, and every build but the current one and
        the one it replaced.

        The previous build is kept: other processes keep serving it until their next look at
        CURRENT (POLL_SECONDS), and a searcher they open meanwhile needs its files.
        """
        keep = set()
        for state in (CURRENT_FILE, PREVIOUS_FILE):
            try:
                keep.add(_read_name(self.root / state))
            except (OSError, ValueError):
                pass
        for entry in self.root.iterdir():
            if (entry.is_dir() and entry.name not in keep
                    and entry.name.startswith(("tmp-", "b-"))):
                shutil.rmtree(entry, ignore_errors=True)

    # --- incremental updates --------------------------------------------------------------

    def _load_fingerprints(self, build: _Build) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for lang, ix in build.indexes.items():
            with ix.reader() as reader:
                keys = reader.column_reader("key")
                prints = reader.column_reader("fingerprint")
                found[lang] = {keys[d]: prints[d] for d in reader.all_doc_ids()}
        return found

    def sync(self, site: Site) -> int:
        """Bring the index in line with the site: (re)index changed articles, drop removed ones.

        Returns how many documents were written or deleted. Raises SearchBusy when another
        process holds the write lock past WRITE_TIMEOUT.
        """
        with self._write_lock:
            build = self._current()
            if build is None:  # never opened, or gone: only a full build makes one
                raise SearchUnavailable("missing")
            if self._fingerprints is None:
                self._fingerprints = self._load_fingerprints(build)
            stored = self._fingerprints
            wanted: dict[str, dict[str, Article]] = {}
            for article in site.published():
                wanted.setdefault(article.lang, {})[article.slug] = article
            written = 0
            for lang in sorted(set(wanted) | set(stored)):
                have = stored.get(lang, {})
                want = wanted.get(lang, {})
                removed = [slug for slug in have if slug not in want]
                changed = [a for slug, a in want.items() if is_stale(have.get(slug), site, a)]
                if removed or changed:
                    written += self._write(build, lang, changed, removed, site)
            return written

    def _write(self, build: _Build, lang: str, changed: list[Article], removed: list[str],
               site: Site) -> int:
        ix = build.indexes.get(lang)
        if ix is None:
            ix = whoosh_index.create_in(str(build.path), build_schema(lang), indexname=lang)
        docs = [document(site, a) for a in changed]  # render before taking the lock
        try:
            writer = ix.writer(timeout=WRITE_TIMEOUT)
        except whoosh_index.LockError as exc:
            raise SearchBusy(f"the {lang} search index is locked by another writer") from exc
        try:
            for slug in removed:
                writer.delete_by_term("key", slug)
            for doc in docs:
                writer.update_document(**doc)
            writer.commit(mergetype=_merge_small)
        except BaseException:
            writer.cancel()
            raise
        assert self._fingerprints is not None
        prints = self._fingerprints.setdefault(lang, {})
        for slug in removed:
            prints.pop(slug, None)
        for doc in docs:
            prints[doc["key"]] = doc["fingerprint"]
        with self._state_lock:
            build.indexes[lang] = ix
            build.generations[lang] = ix.latest_generation()
        log.info("search index %s: %d updated, %d removed", lang, len(docs), len(removed))
        return len(docs) + len(removed)

    # --- queries --------------------------------------------------------------------------

    def _forms(self, lang: str, raw: str) -> list[tuple[str, ...]]:
        """The terms of one typed word, one tuple of forms per position."""
        positions: dict[int, list[str]] = {}
        for token in self.analyzer(lang)(raw, positions=True):
            forms = positions.setdefault(token.pos, [])
            if token.text not in forms:
                forms.append(token.text)
        return [tuple(forms) for _, forms in sorted(positions.items())]

    def _corrections(self, reader: Any, word: str, limit: int = 3, fieldname: str = "words") -> list[str]:
        if len(word) < 3 or word.isdigit():
            return []
        maxdist = 1 if len(word) <= 5 else 2
        # Whoosh counts a swap of two letters as two edits; ask for two, then keep what is
        # within `maxdist` when a swap counts as one ("coed" -> "code").
        found = _terms_within(reader, fieldname, word, 2, prefix=1)
        found.discard(word)
        scored = sorted((d, -reader.doc_frequency(fieldname, w), w) for w in found
                        if (d := swap_distance(w, word)) <= maxdist)
        return [w for d, _, w in scored if d == scored[0][0]][:limit]  # only the nearest

    def _typo_corrections(self, reader: Any, folded: str, forms: list[str]) -> list[str]:
        """What the visitor probably meant by `folded`, when it looks misspelled: unknown in
        every form, or rare next to a much more common neighbour ("suport" vs "support").

        Only an unknown word is replaced by its corrections; a rare one is searched as typed
        ("conntrack" is not "contract") and its corrections are only offered as "did you mean".
        """
        if len(folded) < 3 or folded.isdigit():
            return []
        frequency = reader.doc_frequency("words", folded)
        if frequency == 0:
            if any(reader.doc_frequency("text", form) for form in forms):
                return []  # an inflection the stemmer recognises ("reembolsos")
            return self._corrections(reader, folded)
        if frequency > RARE_FREQUENCY:
            return []
        floor = max(3, 4 * frequency)
        return [c for c in self._corrections(reader, folded) if reader.doc_frequency("words", c) >= floor]

    def _compile(self, lang: str, parsed: ParsedQuery, reader: Any) -> _Compiled | None:
        stops = _stopwords(lang)
        clauses: list[Query] = []
        terms: set[str] = set()
        replacements: dict[str, str] = {}
        for raw in parsed.words:
            forms = self._forms(lang, raw)
            if not forms:
                continue
            if len(forms) > 1:  # "e-mail", "support-code": the parts, in this order
                clauses.append(_phrase([f[0] for f in forms]))
                terms.update(t for f in forms for t in f)
                continue
            word_terms = list(forms[0])
            plain = [t.text for t in plain_analyzer()(raw)]
            folded = plain[0] if len(plain) == 1 else ""
            corrected: list[str] = []
            corrections = self._typo_corrections(reader, folded, word_terms) if folded not in stops else []
            if corrections:
                replacements[raw] = corrections[0]
                for correction in corrections:
                    corrected.extend(f for group in self._forms(lang, correction) for f in group)
            if corrected and reader.doc_frequency("words", folded):
                # A word the index has is searched as typed, however rare ("conntrack" is not
                # "contract"): its corrections only add their articles, weighted far below.
                clause = Or([_word(word_terms), _word(corrected, boost=CORRECTION_WEIGHT)])
            else:  # unknown: replaced (kept, a typo found nowhere would only narrow the search)
                clause = _word(corrected) if corrected else _word(word_terms)
            clauses.append(clause)
            terms.update(word_terms + corrected)
        for raw in parsed.phrases:
            forms = self._forms(lang, raw)
            if forms:
                clauses.append(_phrase([f[0] for f in forms]) if len(forms) > 1 else _word(list(forms[0])))
                terms.update(t for f in forms for t in f)
        only_stops = not clauses
        if only_stops:  # "where", "about if", "q": searched as typed, in the unstemmed words
            typed = [t.text for t in plain_analyzer()(" ".join(parsed.words + parsed.phrases))]
            clauses = [Term("words", word) for word in dict.fromkeys(typed)][:MAX_TERMS]
        tiers = self._title_tiers(lang, parsed, only_stops=only_stops)
        # The whole text as typed, "-x" included: a title equal to it ("pacman -D") comes first.
        key = title_key(parsed.text)
        exact = ConstantScoreQuery(Term("title_exact", key), EXACT_TITLE_SCORE) if key else None
        if not clauses and not tiers and exact is None:
            return None
        excluded_parts: list[Query] = []
        for raw in parsed.excluded:
            forms = self._forms(lang, raw)
            if forms:
                excluded_parts.append(_phrase([f[0] for f in forms]) if len(forms) > 1 else _word(list(forms[0])))
        excluded = Or(excluded_parts) if excluded_parts else None
        ranked = ([clauses[0] if len(clauses) == 1 else And(clauses)] if clauses else []) + tiers
        query: Query = (ranked[0] if len(ranked) == 1 else Or(ranked)) if ranked else NullQuery
        if excluded is not None and ranked:
            query = AndNot(query, excluded)
        if exact is not None:
            query = Or([query, exact]) if ranked else exact
        suggestion = _replace_words(parsed.text, replacements) if replacements else None
        return _Compiled(query, frozenset(terms), suggestion, clauses, excluded)

    def _title_tiers(self, lang: str, parsed: ParsedQuery, only_stops: bool) -> list[Query]:
        """A constant bonus that puts the articles whose title has every word first (below an
        exact title); stop words count when the query has nothing else ("until", "about if",
        "q" are titles), and then it also finds those titles."""
        typed = " ".join(parsed.words + parsed.phrases)
        tiers: list[Query] = []
        analyzer = self._analyzers.get(f"title:{lang}")
        if analyzer is None:
            analyzer = self._analyzers[f"title:{lang}"] = title_analyzer(lang)
        positions: dict[int, list[str]] = {}
        for token in analyzer(typed, positions=True):
            if only_stops or not token.stop_word:
                forms = positions.setdefault(token.pos, [])
                if token.text not in forms:
                    forms.append(token.text)
        words = [_word(forms, fieldname="title_words") for forms in positions.values()][:MAX_TERMS]
        if words:
            tiers.append(ConstantScoreQuery(words[0] if len(words) == 1 else And(words), TITLE_WORDS_SCORE))
        return tiers

    def search(self, lang: str, parsed: ParsedQuery, *, category: str | None = None,
               type: str | None = None, offset: int = 0, limit: int = 10) -> SearchResults:
        started = time.perf_counter()
        searcher = self._searcher(lang)
        if searcher is None or parsed.empty:
            return SearchResults(parsed.text, lang, 0)
        reader = searcher.reader()
        compiled = self._compile(lang, parsed, reader)
        if compiled is None:
            return SearchResults(parsed.text, lang, 0, took_ms=_ms(started))
        query, partial = compiled.query, False
        collected = self._collect(searcher, query, category, type, offset + limit)
        if not collected[1] and len(compiled.clauses) > 1:  # no article has every word: the closest
            query = Or(compiled.clauses, scale=0.9)
            if compiled.excluded is not None:
                query = AndNot(query, compiled.excluded)
            collected = self._collect(searcher, query, category, type, offset + limit)
            partial = bool(collected[1])
        found, pairs = collected
        categories: dict[str, int] = {}
        types: dict[str, int] = {}
        total = 0
        for (doc_category, doc_type), count in pairs.items():
            category_ok = category is None or doc_category == category
            type_ok = type is None or doc_type == type
            if type_ok:  # each facet counts with the other filter applied, not its own
                categories[doc_category] = categories.get(doc_category, 0) + count
            if category_ok:
                types[doc_type] = types.get(doc_type, 0) + count
            if category_ok and type_ok:
                total += count
        hits: list[Hit] = []
        analyzer = self.analyzer(lang)
        for hit in found[offset:offset + limit]:
            stored = hit.fields()
            hits.append(Hit(
                id=int(stored["id"]), lang=lang, slug=stored["key"], title=stored["title"],
                summary=stored["summary"], category=stored["category"], type=stored["type"],
                score=round(float(hit.score), 4),
                highlight=_excerpt(stored, compiled.terms, analyzer),
            ))
        return SearchResults(
            query=parsed.text, lang=lang, total=total, hits=tuple(hits),
            suggestion=compiled.suggestion, facets={"category": categories, "type": types},
            partial=partial, took_ms=_ms(started),
        )

    def _collect(self, searcher: Any, query: Query, category: str | None, type: str | None,
                 top: int) -> tuple[list[Any], dict[tuple[str, str], int]]:
        """The best `top` hits under the filters, and how many matches each (category, type)
        has without them."""
        categories, types = _facet_columns(searcher)
        counts: dict[tuple[str, str], int] = {}
        for docnum in searcher.docs_for_query(query):
            pair = (categories[docnum], types[docnum])
            counts[pair] = counts.get(pair, 0) + 1
        wanted = [Term(name, value) for name, value in (("category", category), ("type", type)) if value]
        if not any((category is None or c == category) and (type is None or t == type) for c, t in counts):
            return [], counts
        restrict = (And(wanted) if len(wanted) > 1 else wanted[0]) if wanted else None
        return searcher.search(query, limit=top, filter=restrict)[:top], counts

    def suggest(self, lang: str, text: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
        """Titles for what is being typed: earlier words whole, the last one as a prefix
        (unless the text ends with a space)."""
        searcher = self._searcher(lang)
        last_is_prefix = bool(text) and not text[-1].isspace()
        text = normalise(text)
        if searcher is None or not text:
            return []
        reader = searcher.reader()
        words = [t.text for t in plain_analyzer()(text)][:MAX_TERMS]
        if not words:
            return []
        stops = _stopwords(lang)
        clauses: list[Query] = []
        for index, word in enumerate(words):
            is_last = index == len(words) - 1
            if not (is_last and last_is_prefix) and (word in stops or len(word) < 2) and len(words) > 1:
                continue
            term = word[:NGRAM_MAX]
            options = [term]
            if reader.doc_frequency("prefixes", term) == 0:
                options += self._corrections(reader, term, 3, "prefixes")
            clauses.append(Or([Term("prefixes", o) for o in options]) if len(options) > 1 else Term("prefixes", term))
        if not clauses:
            return []
        # Articles in different folders may share a title ("get-it" five times): each title is
        # offered once, so ask for more than shown.
        found = searcher.search(And(clauses), limit=limit * 3)
        if not found and len(clauses) > 1:
            found = searcher.search(Or(clauses, scale=0.9), limit=limit * 3)
        suggestions: list[Suggestion] = []
        seen: set[str] = set()
        for hit in found:
            shown = fold(hit["title"]).strip()
            if shown not in seen and len(suggestions) < limit:
                seen.add(shown)
                suggestions.append(Suggestion(id=int(hit["id"]), lang=lang, slug=hit["key"], title=hit["title"],
                                              category=hit["category"], type=hit["type"]))
        return suggestions


def _merge_small(writer: Any, segments: list[Any]) -> list[Any]:
    """Merge policy of incremental updates: fold every segment but the largest into the new
    one, so searches open at most two segments and a commit rewrites only small ones."""
    if len(segments) <= 1:
        return segments
    ordered = sorted(segments, key=lambda segment: segment.doc_count_all(), reverse=True)
    keep = [] if sum(seg.doc_count_all() for seg in ordered[1:]) * 2 > ordered[0].doc_count_all() else ordered[:1]
    for segment in ordered[len(keep):]:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return keep


def swap_distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbouring letters is one edit (optimal string alignment)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _word(forms: list[str], boost: float = 1.0, fieldname: str = "text") -> Query:
    if not forms:
        return NullQuery
    if len(forms) == 1:
        return Term(fieldname, forms[0], boost=boost)
    return Or([Term(fieldname, form, boost=boost) for form in forms])


def _terms_within(reader: Any, fieldname: str, word: str, maxdist: int, prefix: int) -> set[str]:
    """Terms within `maxdist` edits, looked up segment by segment: only a segment's reader
    walks its word graph; a multi-segment reader would compare every term (2.6-6x slower)."""
    found: set[str] = set()
    for leaf, _ in reader.leaf_readers():
        found.update(leaf.terms_within(fieldname, word, maxdist, prefix=prefix))
    return found


def _phrase(words: list[str]) -> Query:
    return Phrase("text", words)


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    for raw, correction in replacements.items():
        text = re.sub(r"(?<!\S)" + re.escape(raw) + r"(?!\S)", correction, text, count=1)
    return text


def _window(text: str, terms: frozenset[str]) -> tuple[int, str]:
    """The part of `text` around the first place a term may occur: highlighting analyses every
    word it is given, so give it about a paragraph, not the whole article."""
    folded = fold(text)
    pattern = _term_pattern(terms)
    match = pattern.search(folded) if pattern else None
    if match is None:
        return 0, text[:HIGHLIGHT_CHARS]
    at = match.start() * len(text) // max(len(folded), 1)  # folding may change lengths a little
    start = max(0, at - 150)
    if start:
        start = text.find(" ", start, at) + 1 or start
    return start, text[start:at + HIGHLIGHT_CHARS]


@lru_cache(maxsize=4096)
def _term_pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + ")")


def _excerpt(stored: dict[str, Any], terms: frozenset[str], analyzer: Any) -> str:
    fragmenter = ContextFragmenter(maxchars=200, surround=60)
    start, body = _window(str(stored.get("body") or ""), terms)
    marked = highlight(body, terms, analyzer, fragmenter, _MarkFormatter(), top=2) if body else ""
    if marked:
        return ("… " if start and not marked.startswith("…") else "") + str(marked)
    summary = str(stored.get("summary") or "")
    marked = highlight(summary, terms, analyzer, ContextFragmenter(maxchars=400, surround=400),
                       _MarkFormatter(), top=1)
    return str(marked) if marked else html.escape(summary, quote=False)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _toc_generations(path: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in os.listdir(path):
        match = _TOC_RE.match(name)
        if match:
            lang, generation = match.group(1), int(match.group(2))
            found[lang] = max(found.get(lang, -1), generation)
    return found


def _read_name(path: Path) -> str:
    """The build name in CURRENT or PREVIOUS (FileNotFoundError when there is none)."""
    return path.read_text(encoding="utf-8").strip()


def _fsync_tree(path: Path) -> None:
    """Flush a finished build's files and folder to disk (Whoosh itself never fsyncs)."""
    for entry in path.iterdir():
        fd = os.open(entry, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, released by the kernel if the holder dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- the service the web app uses ---------------------------------------------------------


def _build_from_stdin() -> None:
    """Entry point of the build process: (content dir, index dir, policy) pickled on stdin."""
    content_dir, index_dir, policy = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - our parent's
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from kb.policy.holder import PolicyHolder

    # the version the server serves, not necessarily policy.yaml's (read only when none came)
    site = Site(content_dir, policy=PolicyHolder(policy) if policy is not None else PolicyHolder.from_file(content_dir))
    site.load()
    index = SearchIndex(index_dir)
    try:
        index.rebuild(site)
    finally:
        index.close()


class _Cache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class SearchService:
    """Async face of the index: searches in the thread pool, cached by (query, filters,
    generation); index writes in one worker thread, triggered by the site's changes.

    The site serves pages at once: a missing, damaged or deleted index is built in the
    background (in a child process when the site is large, so the server's memory goes back
    to what serving needs), `status` says so, and a search made meanwhile waits up to
    READY_WAIT_SECONDS, then raises SearchUnavailable.
    """

    def __init__(self, site: Site, index_dir: Path, *, cache_size: int = CACHE_SIZE,
                 process_build_min: int = PROCESS_BUILD_MIN) -> None:
        self.site = site
        self.index = SearchIndex(index_dir)
        self.index.on_lost = self._on_lost
        self._cache = _Cache(cache_size)
        self._suggest_cache = _Cache(cache_size)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-search-writer")
        self._queued = False
        self._build_queued = False
        self._schedule_lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._child: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._ready = threading.Event()  # set when waiting longer for the index is pointless
        self.status = "starting"  # ok | building | rebuilding | unavailable (see /healthz)
        self.process_build_min = process_build_min
        self.before_build: Callable[[], None] | None = None  # tests hold a build here
        self.site.on_change(self._on_change)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the index, then catch up with changes in the background; a missing or damaged
        index is built in the background. Either way, pages are served at once."""
        if await asyncio.wrap_future(self._writer.submit(self.index.open)):
            self.status = "ok"
            self._writer.submit(self._catch_up)
        else:
            self._schedule_build("building")

    def _catch_up(self) -> None:
        try:
            self._sync(report=True)
        finally:
            self._ready.set()

    def _on_lost(self, why: str) -> None:
        self._schedule_build("rebuilding", why)

    def _heal(self) -> None:
        """No build is open and none is coming (it vanished just as a build finished, when a
        new loss could not queue another): queue one."""
        if self.status == "ok" and not self._build_queued and not self.index.is_open:
            self._schedule_build("rebuilding", "no build is open")

    def _schedule_build(self, status: str, why: str = "") -> None:
        with self._schedule_lock:
            if self._closed or self._build_queued:
                return
            self._build_queued = True
            self.status = status
            self._ready.clear()
            if why:
                log.warning("the search index in %s is gone (%s); rebuilding it",
                            self.index.root, why)
            else:
                log.warning("building the search index in %s in the background", self.index.root)
            try:
                self._writer.submit(self._build_job, status)
            except RuntimeError:  # shut down
                self._build_queued = False

    def _build_job(self, status: str) -> None:
        try:
            if self.before_build is not None:
                self.before_build()
            if self._closed:
                return
            started = time.perf_counter()
            count = self._full_build()
            if self._closed:
                return
            if not self.index.open():
                raise RuntimeError("the new build cannot be opened")
        except Exception as exc:
            if self._closed:
                return
            # One line, no traceback: the cause (disk full, no permission) is in the message.
            log.error("building the search index in %s failed (%s: %s); retrying in %.0f s",
                      self.index.root, type(exc).__name__, exc, BUILD_RETRY_SECONDS)
            with self._schedule_lock:
                self._build_queued = False
                self.status = "unavailable"
            self._ready.set()  # searches answer at once rather than wait for the retry
            self._later(BUILD_RETRY_SECONDS, lambda: self._schedule_build(status))
            return
        log.info("search index built: %d articles in %.1f s", count, time.perf_counter() - started)
        with self._schedule_lock:
            self._build_queued = False
            self.status = "ok"
        try:
            self._sync(report=True)  # what changed while it was built
        finally:
            self._ready.set()

    def _full_build(self) -> int:
        count = len(self.site.published())
        if count >= self.process_build_min:
            code = self._build_in_child()
            if code == 0 or self._closed:
                return count
            log.warning("the search index build process failed (exit status %s); "
                        "building in the server", code)
        return self.index.rebuild(self.site)

    def _build_in_child(self) -> int | None:
        """Build in a fresh process: Whoosh's posting pools and the rendered documents go
        back to the system with it (Python's allocator keeps what a thread used).

        A plain `python -c`, not multiprocessing: forking a threaded server is unsafe, and
        "spawn" would re-run the server's main script in the child.
        """
        try:
            job = pickle.dumps((self.site.content_dir, self.index.root, self.site.policy))
        except Exception:  # the child then reads policy.yaml, as `kb index` does
            job = pickle.dumps((self.site.content_dir, self.index.root, None))
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)  # this kb, installed or not
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        with self._schedule_lock:
            if self._closed:
                return None
            try:
                child = subprocess.Popen(
                    [sys.executable, "-c", "import kb.search.index; kb.search.index._build_from_stdin()"],
                    stdin=subprocess.PIPE, env=env)
            except OSError as exc:  # no process to be had: the server builds it itself
                log.warning("cannot start a search index build process: %s", exc)
                return None
            self._child = child
        try:
            child.communicate(job)
            return child.returncode
        finally:
            with self._schedule_lock:
                self._child = None

    async def close(self) -> None:
        with self._schedule_lock:
            self._closed = True
            for timer in self._timers:
                timer.cancel()
            if self._child is not None:
                # A build killed midway leaves the previous build (if any) serving and a tmp-
                # folder that the next build removes.
                self._child.terminate()
        await asyncio.wrap_future(self._writer.submit(lambda: None))
        self._writer.shutdown(wait=True)
        self.index.close()

    def _later(self, seconds: float, job: Callable[[], Any]) -> None:
        with self._schedule_lock:
            if self._closed:
                return
            self._timers = [t for t in self._timers if t.is_alive()]
            timer = threading.Timer(seconds, job)
            timer.daemon = True
            self._timers.append(timer)
            timer.start()

    def health(self) -> str:
        """ok, building, rebuilding or unavailable; notices a deleted index (POLL_SECONDS)."""
        if not self.index.poll():
            self._heal()
        return self.status

    # --- updates --------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if change:
            self.request_sync()

    def request_sync(self) -> Future[None] | None:
        """Queue one sync (several requests while one is queued make one sync)."""
        with self._schedule_lock:
            if self._closed or self._queued:
                return None
            self._queued = True
            try:
                return self._writer.submit(self._sync_job)
            except RuntimeError:  # shut down
                self._queued = False
                return None

    def _sync_job(self) -> None:
        with self._schedule_lock:
            self._queued = False
        self._sync()

    def _sync(self, report: bool = False) -> None:
        if self._closed or not self.index.poll(force=True):
            self._heal()
            return  # being built (the build job indexes everything), or gone (on_lost rebuilds)
        started = time.perf_counter()
        try:
            written = self.index.sync(self.site)
        except SearchBusy as exc:
            log.warning("%s; retrying in %.0f s", exc, RETRY_SECONDS)
            self._later(RETRY_SECONDS, self.request_sync)
        except SearchUnavailable:
            pass  # gone meanwhile: on_lost has queued the rebuild and said so
        except Exception:
            if self.index.poll(force=True):  # still there: a real failure, worth a traceback
                log.exception("search index update failed; retrying in %.0f s", RETRY_SECONDS)
                self._later(RETRY_SECONDS, self.request_sync)
        else:
            if written and report:
                log.info("search index updated: %d change(s) in %.2f s", written,
                         time.perf_counter() - started)

    async def wait_idle(self) -> None:
        """Wait until every queued index update (or build) is committed (tests, benchmarks)."""
        await asyncio.wrap_future(self._writer.submit(lambda: None))

    async def rebuild(self) -> int:
        return await asyncio.wrap_future(self._writer.submit(self.index.rebuild, self.site))

    async def _searchable(self) -> None:
        """Return when there is an index to search, waiting a little for one being built."""
        if self.index.poll() and self._ready.is_set():
            return
        deadline = time.monotonic() + READY_WAIT_SECONDS
        while not self._ready.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self.index.poll():
            self._heal()
            raise SearchUnavailable(self.status if self.status != "ok" else "building")

    # --- queries --------------------------------------------------------------------------

    async def search(self, lang: str, text: str, *, category: str | None = None,
                     type: str | None = None, offset: int = 0, limit: int = 10) -> SearchResults:
        parsed = parse_query(text)
        if parsed.empty:
            return SearchResults(parsed.text, lang, 0)
        await self._searchable()
        key = (lang, parsed.key, category, type, offset, limit, self.index.token(lang))
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        results = await run_in_threadpool(
            self.index.search, lang, parsed, category=category, type=type, offset=offset, limit=limit)
        self._cache.put(key, results)
        return results

    async def suggest(self, lang: str, text: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
        text = text[: MAX_QUERY_CHARS * 4]
        normalised = normalise(text).lower()
        if not normalised:
            return []
        await self._searchable()
        key = (lang, normalised, text[-1:].isspace(), limit, self.index.token(lang))
        cached = self._suggest_cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        found = await run_in_threadpool(self.index.suggest, lang, text, limit)
        self._suggest_cache.put(key, found)
        return found


