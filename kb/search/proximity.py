"""The proximity bonus, added to the best hits only.

Articles that say neighbouring query words side by side score those words' BM25F again
(`kb.search.query._proximity`'s pairs). Asked of Whoosh as optional phrase clauses, every
candidate's positions were read and compared (at 10,000 articles, a third of an uncached search's
CPU at p95); the bonus only reorders the best hits, so it is added to the best RESCORED of them by
BM25F (a second pass over a small set) and they are sorted again. The figure is Whoosh's own
for those documents: a pair's phrase matcher scores as its two terms' matchers together.
Positions are slices of the flat arrays a full build writes beside each segment
(kb.search.positions); decoding Whoosh's posting blocks for them was most of a slow search's
CPU at 50,000 articles (~200 blocks of ~0.09 ms each).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from whoosh.query import Phrase

from kb.search import vectors

RESCORED = 300  # the best hits by BM25F given the bonus (at 10,000: top-1 as before for 498 of 500 queries)
CHUNK = 16  # hits whose positions are read at first (rescore), twice as many each time after


def rescore(searcher: Any, hits: Sequence[Any], pairs: Sequence[Phrase], top: int | None = None) -> list[Any]:
    """`hits` (best first) with each pair's bonus added to their scores, best first again (ties
    by document number, as Whoosh orders them). With `top`, only the first `top` are exact: a
    bonus is at most its words' scores (`pair_bonus(..., bound=True)`, no positions read), so
    hits are looked at by their score plus that bound, and positions are read only until the
    next one could not enter the best `top` (a few dozen of RESCORED, not all of them)."""
    if not pairs or len(hits) < 2:
        return list(hits)
    limit = len(hits) if top is None else max(top, 1)
    bounds = pair_bonus(searcher, [h.docnum for h in hits], pairs, bound=True)
    ahead = sorted(hits, key=lambda found: (-(found.score + bounds.get(found.docnum, 0.0)), found.docnum))
    looked: list[Any] = []
    finals: list[float] = []  # the scores of `looked`, best first
    start, size = 0, CHUNK
    while start < len(ahead):
        chunk = ahead[start:start + size]
        start, size = start + size, size * 2  # few calls when most hits must be looked at
        lead = chunk[0]
        if len(finals) >= limit and lead.score + bounds.get(lead.docnum, 0.0) < finals[limit - 1]:
            break
        bonus = pair_bonus(searcher, [h.docnum for h in chunk], pairs)
        for found in chunk:
            found.score += bonus.get(found.docnum, 0.0)
        looked.extend(chunk)
        finals = sorted((found.score for found in looked), reverse=True)
    seen = {id(found) for found in looked}
    rest = [found for found in hits if id(found) not in seen]  # none of them can come first
    return sorted(looked, key=lambda found: (-found.score, found.docnum)) + rest


def pair_bonus(searcher: Any, docnums: Sequence[int], pairs: Sequence[Phrase],
               bound: bool = False) -> dict[int, float]:
    """For each of `docnums` (searcher-wide) that has a pair's words in order within its slop:
    the sum of their term scores, times the pair's boost (what `Phrase` would add). Positions
    are read for every document, scores only for those with a pair; both from the term arrays
    kb.search.vectors keeps (a posting found by bisection, not by walking its list). With
    `bound`, the most each could get: every pair whose two words it has counts, as if together."""
    wanted = np.array(sorted(docnums), dtype=np.int64)
    words = {(pair.fieldname, word) for pair in pairs for word in pair.words}
    schema = searcher.schema
    bonus: dict[int, float] = {}
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        end = offset + reader.doc_count_all()
        local = wanted[(wanted >= offset) & (wanted < end)] - offset
        if not len(local):
            continue
        keys = {key: _bytes(schema, key) for key in words}
        has = {key: _having(reader, key[0], text, local) for key, text in keys.items()}
        if bound:
            _add_bounds(bonus, searcher, reader, offset, pairs, keys, has)
            continue
        needed: dict[tuple[str, str], Any] = {}  # a word's positions where a pair's other word is too
        for pair in pairs:
            a, b = ((pair.fieldname, word) for word in pair.words[:2])
            both = np.intersect1d(has[a], has[b], assume_unique=True)
            for key in (a, b):
                needed[key] = both if key not in needed else np.union1d(needed[key], both)
        positions = {key: vectors.positions_at(reader, key[0], keys[key] or b"", docs) if len(docs) else {}
                     for key, docs in needed.items()}
        together: list[tuple[int, tuple[str, str], tuple[str, str], float]] = []
        for pair in pairs:
            a, b = ((pair.fieldname, word) for word in pair.words[:2])
            if a not in positions or b not in positions:
                continue
            together.extend((docnum, a, b, pair.boost) for docnum in positions[a].keys() & positions[b].keys()
                            if _near(positions[a][docnum], positions[b][docnum], pair.slop))
        scored: dict[tuple[str, str], set[int]] = {}
        for docnum, a, b, _ in together:
            scored.setdefault(a, set()).add(docnum)
            scored.setdefault(b, set()).add(docnum)
        scores = {key: vectors.scores_at(searcher, reader, offset, key[0], keys[key] or b"",
                                         np.array(sorted(found), dtype=np.int64))
                  for key, found in scored.items()}
        for docnum, a, b, boost in together:
            at = docnum + offset
            bonus[at] = bonus.get(at, 0.0) + (scores[a][docnum] + scores[b][docnum]) * boost
    return bonus


def _add_bounds(bonus: dict[int, float], searcher: Any, reader: Any, offset: int, pairs: Sequence[Phrase],
                keys: dict[tuple[str, str], bytes | None], has: dict[tuple[str, str], Any]) -> None:
    """pair_bonus(bound=True) for one segment, a pair at a time over arrays: every document that
    has both words of a pair gets their scores, as if they were side by side."""
    for pair in pairs:
        a, b = ((pair.fieldname, word) for word in pair.words[:2])
        both = np.intersect1d(has[a], has[b], assume_unique=True)
        if not len(both):
            continue
        scores = [np.fromiter(vectors.scores_at(searcher, reader, offset, key[0], keys[key] or b"", both).values(),
                              dtype=np.float64, count=len(both)) for key in (a, b)]
        for docnum, added in zip((both + offset).tolist(), ((scores[0] + scores[1]) * pair.boost).tolist(),
                                 strict=True):
            bonus[docnum] = bonus.get(docnum, 0.0) + added


def _having(reader: Any, fieldname: str, text: bytes | None, docnums: Any) -> Any:
    """Which of `docnums` (sorted, local) have the term, from its kept term arrays."""
    if text is None or (fieldname, text) not in reader:
        return np.zeros(0, dtype=np.int64)
    ids = vectors.postings(reader, fieldname, text).ids
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    at = np.searchsorted(ids, docnums).clip(0, len(ids) - 1)
    return docnums[ids[at] == docnums]


def _bytes(schema: Any, key: tuple[str, str]) -> bytes | None:
    """A term's text as the index stores it (None: a field or text it cannot have)."""
    if key[0] not in schema:
        return None
    try:
        return bytes(schema[key[0]].to_bytes(key[1]))
    except ValueError:
        return None


def _near(first: frozenset[int], second: frozenset[int], slop: int) -> bool:
    """The second word after the first, at most `slop` positions on (Whoosh's ordered SpanNear2
    with mindist 1)."""
    return any(not second.isdisjoint([position + step for position in first]) for step in range(1, slop + 1))
