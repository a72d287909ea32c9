"""Which documents a query matches, as a set of document numbers, without scoring them.

Facet counts need every match, not only the best page. Walking Whoosh's matcher tree one
document at a time costs microseconds per match and per node, so a common word at 50,000
articles took milliseconds; here a term's postings are read a block at a time and the tree is
combined with set operations (C speed). What decides membership is exactly Whoosh's: a union
for Or, an intersection for And, a difference for AndNot, the first query for AndMaybe (the
second only adds to scores), the child for a constant score; any other query (phrases) is
asked of Whoosh itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import FilterMatcher
from whoosh.query import And, AndMaybe, AndNot, ConstantScoreQuery, NullQuery, Or, Query, Term

T = TypeVar("T")


def matching(searcher: Any, query: Query) -> set[int]:
    """The (undeleted) documents `query` matches in `searcher`, as searcher-wide numbers."""
    if query is NullQuery:
        return set()
    if isinstance(query, Term):
        return _term_docs(searcher, query)
    if isinstance(query, And):
        found: set[int] | None = None
        for sub in sorted(query.subqueries, key=lambda q: not isinstance(q, Term)):  # cheap ones first
            docs = matching(searcher, sub)
            found = docs if found is None else found & docs
            if not found:
                return set()
        return found or set()
    if isinstance(query, Or) and not query.minmatch:
        union: set[int] = set()
        for sub in query.subqueries:
            union |= matching(searcher, sub)
        return union
    if isinstance(query, AndNot):
        found = matching(searcher, query.a)
        return found - matching(searcher, query.b) if found else found
    if isinstance(query, AndMaybe):
        return matching(searcher, query.a)
    if isinstance(query, ConstantScoreQuery):
        return matching(searcher, query.child)
    return set(searcher.docs_for_query(query))


def _term_docs(searcher: Any, term: Term) -> set[int]:
    schema = searcher.schema
    if term.fieldname not in schema:
        return set()
    try:
        text = schema[term.fieldname].to_bytes(term.text)
    except ValueError:
        return set()
    found: set[int] = set()
    for leaf, offset in searcher.reader().leaf_readers():
        if (term.fieldname, text) not in leaf:
            continue
        ids = _posting_ids(leaf.postings(term.fieldname, text))
        if offset:
            ids = [docnum + offset for docnum in ids]
        found.update(ids)
        if leaf.has_deletions():
            found -= _deleted(searcher, leaf, offset)
    return found


BLOCKS_KEPT = 2048  # decoded posting blocks kept for the process (~12 KB each at 10,000 articles)
_read_block = W3LeafMatcher._read_data
_blocks: dict[tuple[str, int], Any] = {}
_blocks_lock = threading.Lock()


def _read_block_once(matcher: Any) -> None:
    """W3LeafMatcher._read_data, each block decoded once for every searcher and thread.

    A block is stored zlib-compressed and pickled with its ids, weights and positions together,
    and one search reads the same blocks up to three times (its matches as sets, Whoosh's scoring
    walk, the proximity bonus's positions), the next search most of them again; decoding them
    was half of an uncached search's CPU. A segment's postings file never changes and its name
    holds the segment's random id, so (name, offset) names a block's content for good; the
    oldest are dropped past BLOCKS_KEPT.
    """
    name = getattr(matcher._postfile, "_name", None)
    if not name:
        _read_block(matcher)
        return
    key = (name, matcher._dataoffset)
    found = _blocks.get(key)
    if found is not None:
        matcher._data = found
        return
    _read_block(matcher)
    with _blocks_lock:
        while len(_blocks) >= BLOCKS_KEPT:
            del _blocks[next(iter(_blocks))]  # the oldest
        _blocks[key] = matcher._data


W3LeafMatcher._read_data = _read_block_once


def kept_block(name: str, offset: int) -> Any | None:
    """The decoded block of postings file `name` at `offset`, when it is kept."""
    return _blocks.get((name, offset))


def read_block_unkept(matcher: Any) -> None:
    """Whoosh's own W3LeafMatcher._read_data: the block decoded, not kept."""
    _read_block(matcher)


def _posting_ids(matcher: Any) -> list[int]:
    """Every document number of a term's postings: a block at a time when the matcher is
    Whoosh's own posting reader (deletions are taken off by the caller)."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if not isinstance(matcher, W3LeafMatcher):
        return list(matcher.all_ids())
    ids: list[int] = []
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        ids.extend(matcher._ids[matcher._i:])
        matcher._next_block()
    return ids


def _deleted(searcher: Any, leaf: Any, offset: int) -> frozenset[int]:
    """A segment's deleted documents (searcher-wide numbers), found once per searcher."""
    cache: dict[int, frozenset[int]] = searcher.__dict__.setdefault("_kb_deleted", {})
    found = cache.get(offset)
    if found is None:
        local = per_segment(leaf, "deleted", lambda: frozenset(leaf.segment().deleted_docs()), deletions=True)
        found = cache[offset] = frozenset(offset + docnum for docnum in local) if offset else local
    return found


_SEGMENT_CACHE: dict[tuple[str, str, int, int], Any] = {}
_SEGMENT_CACHE_SIZE = 256


def per_segment(leaf: Any, what: str, make: Callable[[], T], deletions: bool = False) -> T:
    """`make()` for one segment, made once for every searcher that opens it: a commit opens new
    searchers, but the segments it did not write are the same (their documents and columns never
    change; their deletions only grow, so the count tells them apart when `make` reads them: an
    edit deletes the old version from a large segment). Shared by threads: two making the same
    value at once is only wasted work."""
    segment = leaf.segment()
    key = (what, segment.segment_id(), segment.doc_count_all(), segment.deleted_count() if deletions else 0)
    found: T | None = _SEGMENT_CACHE.get(key)
    if found is None:
        found = make()
        if len(_SEGMENT_CACHE) >= _SEGMENT_CACHE_SIZE:
            _SEGMENT_CACHE.pop(next(iter(_SEGMENT_CACHE)), None)  # the oldest
        _SEGMENT_CACHE[key] = found
    return found
