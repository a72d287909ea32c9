"""What a search returns: hits with highlighted excerpts, facet counts, title suggestions.

Collecting counts every match per (category, type) once, then asks Whoosh for the best page
under the filters: each facet is counted with the other filter applied, not its own, so a
visitor sees how many results choosing another value would give.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import numpy as np
from whoosh.highlight import ContextFragmenter, Formatter, get_text, highlight
from whoosh.query import DefaultOr as Or
from whoosh.query import Phrase, Query

from kb.content.site import article_path
from kb.search import columns, vectors
from kb.search.analysis import fold
from kb.search.matches import matching, per_segment
from kb.search.proximity import RESCORED, rescore

HIGHLIGHT_CHARS = 600  # highlighting re-analyses the text: give it a window around the first match

FacetPairs = dict[tuple[str, str], int]  # (category, type) -> matches


@dataclass(frozen=True)
class Suggestion:
    """An article offered for what is being typed: what it takes to show and link it."""

    id: int
    lang: str
    slug: str
    title: str
    category: str
    type: str

    @property
    def url(self) -> str:
        return article_path(self.lang, self.slug)


@dataclass(frozen=True)
class Hit(Suggestion):
    """A search result: its summary, its score and an excerpt besides."""

    summary: str
    score: float
    highlight: str  # HTML: escaped text with <mark> around matched words
    # A result in another language than the reader's (SearchService.search_elsewhere): the
    # address of the same article in the reader's language, None when it is not translated yet.
    translation: str | None = None


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


# --- collecting ------------------------------------------------------------------------------


def _facet_pairs(searcher: Any) -> list[tuple[str, str]]:
    """(category, type) of every document as a plain list, read once per searcher.

    A column reader costs microseconds per lookup; facet counts look up every match, so a
    list index (nanoseconds) is what keeps uncached searches of common words fast.
    """
    cached: list[tuple[str, str]] | None = getattr(searcher, "_kb_facets", None)
    if cached is None:  # each segment's read once (a commit leaves most of them as they were)
        cached = []
        for leaf, _ in searcher.reader().leaf_readers():
            cached.extend(per_segment(leaf, "facets", partial(_segment_facets, leaf)))
        searcher._kb_facets = cached
    return cached


def _segment_facets(leaf: Any) -> list[tuple[str, str]]:
    return list(zip(leaf.column_reader("category"), leaf.column_reader("type"), strict=True))


def collect(searcher: Any, query: Query, category: str | None, type: str | None,
            top: int, proximity: tuple[Phrase, ...] = ()) -> tuple[list[Any], FacetPairs]:
    """The best `top` hits under the filters (`proximity`'s bonus added to the best RESCORED), and
    how many matches each (category, type) has without them."""
    evaluated = vectors.evaluate(searcher, query)  # every match and its score as arrays
    if evaluated is None:
        return _collect_walking(searcher, query, category, type, top, proximity)
    codes = _facet_codes(searcher)
    found = np.bincount(codes[evaluated.mask], minlength=len(_PAIRS))
    counts: FacetPairs = {_PAIRS[code]: int(found[code]) for code in np.flatnonzero(found)}
    allowed = None
    if category is not None or type is not None:
        wanted = np.array([(category is None or pair[0] == category) and (type is None or pair[1] == type)
                           for pair in _PAIRS], dtype=bool)
        allowed = wanted[codes]
    if not proximity:
        return list(evaluated.top(searcher, top, allowed)), counts
    best = evaluated.top(searcher, max(top, RESCORED), allowed)
    return rescore(searcher, best, proximity, top)[:top], counts


def best(searcher: Any, query: Query, limit: int) -> list[Any]:
    """The best `limit` matches of `query`, best first (suggestions: no facets, no bonus)."""
    evaluated = vectors.evaluate(searcher, query)
    if evaluated is None:
        return list(searcher.search(query, limit=limit))
    return list(evaluated.top(searcher, limit))


def _collect_walking(searcher: Any, query: Query, category: str | None, type: str | None,
                     top: int, proximity: tuple[Phrase, ...] = ()) -> tuple[list[Any], FacetPairs]:
    """collect() through Whoosh's matchers, for what kb.search.vectors does not score."""
    pairs = _facet_pairs(searcher)
    matched = matching(searcher, query)  # sets, not a walk of the matcher: see kb.search.matches
    counts: FacetPairs = dict(Counter(pairs[docnum] for docnum in matched))
    allowed = matched if category is None and type is None else {
        docnum for docnum in matched
        if (category is None or pairs[docnum][0] == category) and (type is None or pairs[docnum][1] == type)}
    if not allowed:
        return [], counts
    # Always through `allowed`: Whoosh's AndNot lets through its first document when the
    # excluded word's first document comes before it ("login -phone" found "login phone").
    if not proximity:
        return searcher.search(query, limit=top, filter=allowed)[:top], counts
    best = searcher.search(query, limit=max(top, RESCORED), filter=allowed)
    return rescore(searcher, best[:], proximity, top)[:top], counts  # not list(): len() counts every match


# Every (category, type) pair seen by this process, numbered: facet counts are a bincount.
_PAIRS: list[tuple[str, str]] = []
_PAIR_CODES: dict[tuple[str, str], int] = {}
_PAIRS_LOCK = threading.Lock()


def _pair_code(pair: tuple[str, str]) -> int:
    code = _PAIR_CODES.get(pair)
    if code is None:
        with _PAIRS_LOCK:
            code = _PAIR_CODES.get(pair)
            if code is None:
                _PAIRS.append(pair)
                code = _PAIR_CODES[pair] = len(_PAIRS) - 1
    return code


def _facet_codes(searcher: Any) -> Any:
    """Each document's (category, type) as its number in _PAIRS, read once per segment."""
    cached = getattr(searcher, "_kb_facet_codes", None)
    if cached is None:
        parts = [per_segment(leaf, "facet-codes", partial(_segment_codes, leaf))
                 for leaf, _ in searcher.reader().leaf_readers()]
        cached = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        searcher._kb_facet_codes = cached
    return cached


def _segment_codes(leaf: Any) -> Any:
    count = leaf.doc_count_all()
    read = [(columns.references(leaf.column_reader(name, translate=False), count), leaf.schema[name])
            for name in ("category", "type")]
    (categories, category_field), (types, type_field) = read
    if categories is None or types is None:  # not Whoosh 3's columns: value by value
        return np.array([_pair_code(pair) for pair in per_segment(leaf, "facets", partial(_segment_facets, leaf))],
                        dtype=np.int32)
    # each (category, type) that occurs, numbered once, rather than 50,000 pairs looked up
    kinds = max(len(types[1]), 1)
    occurring, each = np.unique(categories[0] * kinds + types[0], return_inverse=True)
    codes = [_pair_code((category_field.from_column_value(categories[1][int(both) // kinds]),
                         type_field.from_column_value(types[1][int(both) % kinds]))) for both in occurring]
    return np.array(codes, dtype=np.int32)[each.reshape(-1)] if codes else np.zeros(0, dtype=np.int32)


def any_of(searcher: Any, clauses: list[Query]) -> Query:
    """Articles with some of the clauses, those with more of them first.

    Whoosh's coordination bonus (`scale`) multiplies every score by (n - 1) / n, n being the
    clauses' terms that have postings: with one such term, every article scores 0 and the
    order is the index's. So clauses that match nothing are left out first.
    """
    live = [clause for clause in clauses if next(iter(clause.docs(searcher)), None) is not None]
    if len(live) == 1:
        return live[0]
    return Or(live or clauses, scale=0.9)


def facets(pairs: FacetPairs, category: str | None, type: str | None) -> tuple[dict[str, dict[str, int]], int]:
    """The facet counts shown beside the results, and the total under both filters."""
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
    return {"category": categories, "type": types}, total


def hit(found: Any, lang: str, terms: frozenset[str], analyzer: Any) -> Hit:
    """A result as shown: its stored fields and an excerpt with the matched words marked."""
    stored = found.fields()
    return Hit(
        id=int(stored["id"]), lang=lang, slug=stored["key"], title=stored["title"],
        summary=stored["summary"], category=stored["category"], type=stored["type"],
        score=round(float(found.score), 4), highlight=excerpt(stored, terms, analyzer),
    )


def suggestions(found: Any, lang: str, limit: int) -> list[Suggestion]:
    """Each title once: articles in different folders may share one ("get-it" five times)."""
    shown: list[Suggestion] = []
    seen: set[str] = set()
    for found_hit in found:
        title = fold(found_hit["title"]).strip()
        if title not in seen and len(shown) < limit:
            seen.add(title)
            shown.append(Suggestion(id=int(found_hit["id"]), lang=lang, slug=found_hit["key"],
                                    title=found_hit["title"], category=found_hit["category"],
                                    type=found_hit["type"]))
    return shown


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (time.perf_counter), as SearchResults.took_ms."""
    return round((time.perf_counter() - started) * 1000, 2)


# --- excerpts --------------------------------------------------------------------------------


class _MarkFormatter(Formatter):  # type: ignore[misc]
    """Escaped excerpt text with <mark> around matches; "…" where the text was cut."""

    between = " … "

    def _text(self, text: str) -> str:
        return _escaped(text)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return "<mark>" + _escaped(get_text(text, token, replace)) + "</mark>"

    def format(self, fragments: list[Any], replace: bool = False) -> str:
        """One "…" between fragments and at cut ends, never two in a row."""
        if not fragments:
            return ""
        parts = [self.format_fragment(f, replace).strip() for f in fragments]
        before = "… " if fragments[0].startchar > 0 else ""
        after = " …" if fragments[-1].endchar < len(fragments[-1].text) else ""
        return before + self.between.join(parts) + after


def excerpt(stored: dict[str, Any], terms: frozenset[str], analyzer: Any) -> str:
    """HTML: up to two fragments of the body around the matches, else the summary."""
    fragmenter = ContextFragmenter(maxchars=200, surround=60)
    start, body = _window(str(stored.get("body") or ""), terms)
    marked = highlight(body, terms, analyzer, fragmenter, _MarkFormatter(), top=2) if body else ""
    if marked:
        return ("… " if start and not marked.startswith("…") else "") + str(marked)
    summary = str(stored.get("summary") or "")
    marked = highlight(summary, terms, analyzer, ContextFragmenter(maxchars=400, surround=400),
                       _MarkFormatter(), top=1)
    return str(marked) if marked else _escaped(summary)


def _escaped(text: str) -> str:
    # The stored body has one block per line (Rendered.prose); an excerpt is one line of text.
    return html.escape(text.replace("\n", " "), quote=False)


def _word_end(text: str, end: int) -> int:
    """`end`, moved back to the end of a word when it falls inside one (an excerpt never
    shows half a word)."""
    if end >= len(text) or not text[end].isalnum() or not text[end - 1].isalnum():
        return end
    space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
    return space if space > 0 else end


def _window(text: str, terms: frozenset[str]) -> tuple[int, str]:
    """The part of `text` around the first place a term may occur: highlighting analyses every
    word it is given, so give it about a paragraph, not the whole article."""
    folded = fold(text)
    pattern = _term_pattern(terms)
    match = pattern.search(folded) if pattern else None
    if match is None:
        return 0, text[:_word_end(text, HIGHLIGHT_CHARS)]
    at = match.start() * len(text) // max(len(folded), 1)  # folding may change lengths a little
    start = max(0, at - 150)
    if start:
        start = max(text.find(" ", start, at), text.find("\n", start, at)) + 1 or start
    return start, text[start:_word_end(text, at + HIGHLIGHT_CHARS)]


@lru_cache(maxsize=4096)
def _term_pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + ")")
