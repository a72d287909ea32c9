"""Queries scored over whole posting lists at once, as arrays: every match and the best page.

Whoosh scores a query by walking a tree of matchers one document at a time: tens of
microseconds per candidate, and its block-quality skipping is lost under the constant-score
title tiers and useless for the best 300 the proximity bonus needs. A common word matches
most of a language at 50,000 articles, so an uncached search spent 50 to 250 ms there. Here
each term's postings are read once into arrays (kept, bounded, for every searcher of the
segment), and a query's tree is combined with vector operations over the searcher's
documents: a mask of the matches (the facet counts and total) and Whoosh's own BM25F score
(same formula, same statistics; sums may differ from Whoosh's in the last bit). What is not
plain terms, unions, intersections, differences and constant scores (phrases, other
weightings) returns None: the caller asks Whoosh as before. A union with a coordination bonus
(`Or(..., scale=)`: the closest matches when no article has every word, results.any_of) is
scored as Whoosh's CoordMatcher does, its term count fixed for the search (see _coordinated).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import FilterMatcher
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    ConstantScoreQuery,
    DefaultOr,
    NullQuery,
    Or,
    Query,
    Term,
)
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from kb.caches import LRU
from kb.search import columns, flatpostings, positions
from kb.search.matches import kept_block, per_segment, read_block_unkept

POSTINGS_BYTES = 48 * 1024 * 1024  # term arrays kept for the process, the least recently used dropped
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_LENGTHS[0] = 0.0


@dataclass
class Scored:
    """A hit as Whoosh's Hit gives it to kb: its number, a score the proximity bonus adds to,
    and its stored fields."""

    searcher: Any
    docnum: int
    score: float

    def fields(self) -> dict[str, Any]:
        return dict(self.searcher.stored_fields(self.docnum))

    def __getitem__(self, name: str) -> Any:
        return self.searcher.stored_fields(self.docnum)[name]


@dataclass(frozen=True)
class Evaluated:
    """A query over a searcher's documents: which match it, and their scores."""

    mask: Any  # numpy bool array, one per document (deleted ones False)
    scores: Any  # numpy float64 array, 0 where the mask is False
    counts: Any = None  # under a coordinating union: each match's matched terms (int32)

    def top(self, searcher: Any, limit: int, allowed: Any = None) -> list[Scored]:
        """The best `limit` of the matches (within `allowed`, a mask), best first, ties by
        document number as Whoosh orders them."""
        mask = self.mask if allowed is None else self.mask & allowed
        docs = np.flatnonzero(mask)
        scores = self.scores[docs]
        if len(docs) > limit > 0:
            kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores > kth
            ties = np.flatnonzero(scores == kth)[: limit - int(keep.sum())]  # the lowest numbers
            keep[ties] = True
            docs, scores = docs[keep], scores[keep]
        elif limit <= 0:
            return []
        order = np.lexsort((docs, -scores))
        return [Scored(searcher, int(docs[i]), float(scores[i])) for i in order]


class _Context:
    """What one evaluation reads of a searcher: its size, deletions and field lengths."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self.size = int(searcher.doc_count_all())
        self.leaves = list(searcher.leaf_searchers())
        weighting = searcher.weighting
        self.weighting = weighting if type(weighting) is BM25F else None

    def empty(self, count: bool = False) -> Evaluated:
        return Evaluated(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64),
                         np.zeros(self.size, dtype=np.int32) if count else None)

    def lengths(self, fieldname: str) -> Any:
        """Each document's length of `fieldname` as BM25F reads it (decoded from its byte)."""
        cache: dict[str, Any] = self.searcher.__dict__.setdefault("_kb_lengths", {})
        found = cache.get(fieldname)
        if found is None:
            parts = [per_segment(leaf.reader(), "lengths:" + fieldname,
                                 partial(_segment_lengths, leaf.reader(), fieldname))
                     for leaf, _ in self.leaves]
            found = cache[fieldname] = np.concatenate(parts) if parts else np.zeros(0)
        return found


def _segment_lengths(reader: Any, fieldname: str) -> Any:
    count = reader.doc_count_all()
    perdoc = getattr(reader, "_perdoc", None)
    column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN) if perdoc is not None else None
    if column is None:  # not Whoosh 3's reader: as Whoosh reads them, one by one
        return np.array([reader.doc_field_length(docnum, fieldname, 0) for docnum in range(count)],
                        dtype=np.float64)
    return _LENGTHS[columns.numbers(column, count, np.uint8)]


def evaluate(searcher: Any, query: Query) -> Evaluated | None:
    """The matches and scores of `query` in `searcher`, or None when it is not made of what
    this module scores as Whoosh does."""
    context = _Context(searcher)
    if context.weighting is None:
        return None
    return _evaluate(context, query)


def _counted(mask: Any, counts: Any, count: bool) -> Any:
    """`counts` kept only where `mask` holds (a term counts where every query above it matches)."""
    return np.where(mask, counts, 0) if count else None


def _evaluate(context: _Context, query: Query, count: bool = False) -> Evaluated | None:
    """With `count`, each match's number of matched terms besides (Evaluated.counts)."""
    if query is NullQuery:
        return context.empty(count)
    if isinstance(query, Term):
        term = _term(context, query)
        if term is None or not count:
            return term
        return Evaluated(term.mask, term.scores, term.mask.astype(np.int32))
    if isinstance(query, ConstantScoreQuery):
        child = _evaluate(context, query.child, count)
        if child is None:
            return None
        return Evaluated(child.mask, np.where(child.mask, float(query.score), 0.0), child.counts)
    if isinstance(query, AndNot | AndMaybe):
        a, b = _evaluate(context, query.a, count), _evaluate(context, query.b, count)
        if a is None or b is None:
            return None
        if isinstance(query, AndMaybe):
            both = a.counts + b.counts if count else None
            return Evaluated(a.mask, a.scores + np.where(a.mask, b.scores, 0.0), _counted(a.mask, both, count))
        mask = a.mask & ~b.mask  # the excluded query's terms never count: its matches are gone
        return Evaluated(mask, np.where(mask, a.scores, 0.0), _counted(mask, a.counts, count))
    if type(query) in (And, Or, DefaultOr):
        if isinstance(query, Or) and query.minmatch:
            return None
        if isinstance(query, Or) and query.scale:
            return _coordinated(context, query, count)
        children = [_evaluate(context, sub, count) for sub in query.subqueries]
        if any(child is None for child in children):
            return None
        found = [child for child in children if child is not None]
        if not found:
            return context.empty(count)
        mask = found[0].mask.copy()
        scores = found[0].scores.copy()
        counts: Any = found[0].counts.copy() if count else None
        for child in found[1:]:
            if isinstance(query, And):
                mask &= child.mask
            else:
                mask |= child.mask
            scores += child.scores
            if count:
                counts += child.counts
        if isinstance(query, And):
            scores[~mask] = 0.0
            if count:
                counts[~mask] = 0
        if query.boost != 1.0:
            scores *= query.boost
        return Evaluated(mask, scores, counts)
    return None


def _coordinated(context: _Context, query: Or, count: bool) -> Evaluated | None:
    """A union with Whoosh's coordination bonus (CoordMatcher's "SQR"): with n the union's terms
    that have postings in the document's segment (excluded ones too, as Whoosh counts its term
    matchers) and m those the document has under matching queries, its score becomes

        (score + (m - 1) / (n - scale)**2) * (n - 1) / n      (0 when n is 0, or 1 with no term)

    That is Whoosh's score of every match it scores (tests/web/test_search_vectors.py), but
    Whoosh's walk for a best page skips blocks by a quality bound and recounts n as term lists
    run out, and so passed over matches that score higher (at 10,000 articles, 20 of the 500
    distinct queries of bench/search.py had another page): here every match is scored by the
    formula, n fixed for the search and the same for every document of a segment.
    """
    plain = Or(query.subqueries, boost=query.boost)
    found = _evaluate(context, plain, True)
    if found is None:
        return None
    terms = [leaf for leaf in query.leaves() if isinstance(leaf, Term)]
    if len(terms) != sum(1 for _ in query.leaves()):
        return None  # a phrase or another leaf: Whoosh counts its matchers differently
    keys = [key for key in map(partial(_term_key, context.searcher.schema), terms) if key is not None]
    n = np.zeros(context.size, dtype=np.float64)
    for leaf, offset in context.leaves:
        reader = leaf.reader()
        n[offset:offset + reader.doc_count_all()] = sum(1 for key in keys if key in reader)
    scale = float(query.scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        bonus = np.where((n == 0) | (n == scale), 0.0,
                         (found.scores + (found.counts - 1) / (n - scale) ** 2) * (n - 1) / n)
    scores = np.where(found.mask, bonus, 0.0)
    return Evaluated(found.mask, scores, found.counts if count else None)


def _term_key(schema: Any, term: Term) -> tuple[str, bytes] | None:
    """(field, bytes) of a term as a reader looks it up, None when its field cannot hold it."""
    if term.fieldname not in schema:
        return None
    try:
        return term.fieldname, schema[term.fieldname].to_bytes(term.text)
    except ValueError:
        return None


def _term(context: _Context, term: Term) -> Evaluated | None:
    searcher = context.searcher
    schema = searcher.schema
    found = context.empty()
    if term.fieldname not in schema:
        return found
    field = schema[term.fieldname]
    try:
        text = field.to_bytes(term.text)
    except ValueError:
        return found
    if (term.fieldname, text) not in searcher.reader():
        return found
    if getattr(term, "minquality", None):
        return None
    weighting = context.weighting
    assert weighting is not None
    scorable = field.scorable
    if scorable:
        idf = searcher.idf(term.fieldname, text)
        avgfl = searcher.avg_field_length(term.fieldname) or 1
        b = weighting._field_B.get(term.fieldname, weighting.B)
        k1 = weighting.K1
        lengths = context.lengths(term.fieldname)
    for leaf, offset in context.leaves:
        reader = leaf.reader()
        if (term.fieldname, text) not in reader:
            continue
        found_postings = postings(reader, term.fieldname, text)
        ids, weights = found_postings.ids, found_postings.weights
        docs = ids + offset
        if reader.has_deletions():
            deleted = _deleted_mask(context, leaf, offset)
            keep = ~deleted[ids]
            docs, weights = docs[keep], weights[keep]
        if scorable:
            # whoosh.scoring.bm25, term for term (the same float operations)
            scores = idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths[docs] / avgfl)))
        else:
            scores = weights
        found.mask[docs] = True
        found.scores[docs] = scores
    if term.boost != 1.0:
        found.scores[:] = found.scores * term.boost
    return found


def _deleted_mask(context: _Context, leaf: Any, offset: int) -> Any:
    reader = leaf.reader()

    def make() -> Any:
        mask = np.zeros(reader.doc_count_all(), dtype=bool)
        deleted = list(reader.segment().deleted_docs())
        if deleted:
            mask[np.array(deleted, dtype=np.int64)] = True
        return mask

    return per_segment(reader, "deleted-mask", make, deletions=True)


# --- postings as arrays, kept ----------------------------------------------------------------


@dataclass(frozen=True)
class Postings:
    """A segment's postings of one term: document numbers (int64) and weights (float64), and
    where each block starts, in the arrays and in the postings file (to read positions)."""

    ids: Any
    weights: Any
    starts: Any = None  # index of each block's first posting (None: not read from Whoosh 3's blocks)
    blocks: tuple[int, ...] = ()  # each block's position in the postings file (flat: the first's only)
    datas: tuple[int, ...] = ()  # and of its data (kb.search.matches keeps blocks by it)

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.weights.nbytes) + (0 if self.starts is None else int(self.starts.nbytes))


_kept: LRU[tuple[Any, ...], Postings] = LRU(POSTINGS_BYTES, lambda found: found.nbytes)


def postings(reader: Any, fieldname: str, text: bytes) -> Postings:
    """A segment's postings of a term, read once for every searcher of the segment (its
    postings never change; deletions are taken off by the caller): sliced from the segment's
    flat postings when the full build wrote them (kb.search.flatpostings), else decoded from
    Whoosh's blocks."""
    segment = reader.segment()
    key = (segment.segment_id(), segment.doc_count_all(), fieldname, text)
    found = _kept.get(key)
    if found is None:
        flat = flatpostings.term(reader, fieldname, text)
        if flat is None:
            found = _read_postings(reader.postings(fieldname, text))
        else:
            start, ids, weights = flat
            found = Postings(ids.astype(np.int64), weights.astype(np.float64), blocks=(start,))
        _kept.put(key, found)
    return found


def _read_postings(matcher: Any) -> Postings:
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if not isinstance(matcher, W3LeafMatcher) or matcher._byteids:
        ids_list: list[int] = []
        weights_list: list[float] = []
        while matcher.is_active():
            ids_list.append(matcher.id())
            weights_list.append(matcher.weight())
            matcher.next()
        return Postings(np.array(ids_list, dtype=np.int64), np.array(weights_list, dtype=np.float64))
    id_parts: list[Any] = []
    weight_parts: list[Any] = []
    starts: list[int] = []
    blocks: list[int] = []
    datas: list[int] = []
    position, count = matcher._baseoffset, 0
    name = getattr(matcher._postfile, "_name", None)
    while matcher.is_active():
        # Read once here, a term's blocks are not kept as decoded blocks: a common word's would
        # push out the blocks the proximity bonus reads positions from.
        data = kept_block(name, matcher._dataoffset) if name else None
        if data is None:
            read_block_unkept(matcher)
            data = matcher._data
        deltas, weights, _ = data
        starts.append(count)
        blocks.append(position)
        datas.append(matcher._dataoffset)
        id_parts.append(np.cumsum(np.array(deltas, dtype=np.int64)))
        size = len(deltas)
        count += size
        if weights is None:
            weight_parts.append(np.ones(size, dtype=np.float64))
        elif isinstance(weights, float):  # Whoosh reads a block's one weight as a float32
            weight_parts.append(np.full(size, float(np.float32(weights)), dtype=np.float64))
        else:
            weight_parts.append(np.array(weights, dtype=np.float64))
        position = matcher._nextoffset
        matcher._next_block()
    if not id_parts:
        return Postings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
    return Postings(np.concatenate(id_parts), np.concatenate(weight_parts), np.array(starts, dtype=np.int64),
                    tuple(blocks), tuple(datas))


def positions_at(reader: Any, fieldname: str, text: bytes, docnums: Any) -> dict[int, frozenset[int]]:
    """The positions of a term in each of a segment's `docnums` (sorted, local numbers) that has
    it, each posting found by bisection: sliced from the segment's flat positions when the full
    build wrote them (kb.search.positions), else read from the blocks holding them only."""
    if (fieldname, text) not in reader:
        return {}
    found_postings = postings(reader, fieldname, text)
    ids = found_postings.ids
    at = np.searchsorted(ids, docnums)
    inside = at < len(ids)
    present = np.zeros(len(docnums), dtype=bool)
    present[inside] = ids[at[inside]] == docnums[inside]
    if not present.any():
        return {}
    flat = positions.of_reader(reader)
    term = flat.of(found_postings.blocks[0], len(ids)) if flat is not None and found_postings.blocks else None
    if term is not None:  # the full build's flat positions: a slice each, no block decoded
        return {int(ids[index]): positions.positions(term, index) for index in at[present].tolist()}
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    found: dict[int, frozenset[int]] = {}
    # A short list, or one sliced from flat postings (kb.search.flatpostings) whose flat
    # positions are missing (a field Whoosh's analyser indexed, a damaged file): walk it.
    if found_postings.starts is None or not isinstance(matcher, W3LeafMatcher):
        wanted = set(docnums[present].tolist())
        while matcher.is_active():
            if matcher.id() in wanted:
                found[matcher.id()] = frozenset(matcher.value_as("positions"))
            matcher.next()
        return found
    indexes = at[present]
    block_of = np.searchsorted(found_postings.starts, indexes, side="right") - 1
    name = getattr(matcher._postfile, "_name", None)
    decode = matcher.format.decoder("positions")
    plain = matcher._fixedsize is None or matcher._fixedsize < 0  # a block's values are a tuple
    current, values = -1, None
    for index, block in zip(indexes.tolist(), block_of.tolist(), strict=True):
        start = int(found_postings.starts[block])
        if not plain:
            if block != current:
                matcher._goto(found_postings.blocks[block])
                current = block
            matcher._i = index - start
            found[int(ids[index])] = frozenset(matcher.value_as("positions"))
            continue
        if block != current:
            data = kept_block(name, found_postings.datas[block]) if name else None
            if data is None:
                matcher._goto(found_postings.blocks[block])
                matcher._read_data()  # and kept
                data = matcher._data
            values = data[2]
            current = block
        assert values is not None
        found[int(ids[index])] = frozenset(decode(values[index - start]))
    return found


def scores_at(searcher: Any, reader: Any, offset: int, fieldname: str, text: bytes,
              docnums: Any) -> dict[int, float]:
    """Whoosh's BM25F score of a term (no boost) in each of a segment's `docnums` (sorted,
    local numbers) that has it."""
    if (fieldname, text) not in reader or not len(docnums):
        return {}
    weighting = searcher.weighting
    found_postings = postings(reader, fieldname, text)
    at = np.searchsorted(found_postings.ids, docnums).clip(0, max(len(found_postings.ids) - 1, 0))
    present = found_postings.ids[at] == docnums
    docs, weights = docnums[present], found_postings.weights[at[present]]
    if searcher.schema[fieldname].scorable and type(weighting) is BM25F:
        idf = searcher.idf(fieldname, text)
        avgfl = searcher.avg_field_length(fieldname) or 1
        b = weighting._field_B.get(fieldname, weighting.B)
        k1 = weighting.K1
        lengths = _Context(searcher).lengths(fieldname)[docs + offset]
        scores = idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))
    else:
        scores = weights
    return dict(zip(docs.tolist(), scores.tolist(), strict=True))


def clear() -> None:
    """Forget the kept term arrays (benchmarks measure reading them too)."""
    _kept.clear()

