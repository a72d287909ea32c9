"""The proximity bonus, added to the best hits only.

Articles that say neighbouring query words side by side score those words' BM25F again
(`kb.search.query._proximity`'s pairs). Asked of Whoosh as optional phrase clauses, every
candidate's positions were read and compared (at 10,000 articles, a third of an uncached search's
CPU at p95); the bonus only reorders the best hits, so it is added to the best RESCORED of them by
BM25F (a second pass over a small set) and they are sorted again. The figure is Whoosh's own
for those documents: a pair's phrase matcher scores as its two terms' matchers together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from whoosh.query import Phrase, Term

RESCORED = 300  # the best hits by BM25F given the bonus (at 10,000: top-1 as before for 498 of 500 queries)

T = TypeVar("T")


def rescore(searcher: Any, hits: Sequence[Any], pairs: Sequence[Phrase]) -> list[Any]:
    """`hits` (Whoosh's, best first) with each pair's bonus added to their scores, best first
    again (ties by document number, as Whoosh orders them)."""
    if not pairs or len(hits) < 2:
        return list(hits)
    bonus = pair_bonus(searcher, [h.docnum for h in hits], pairs)
    for found in hits:
        found.score += bonus.get(found.docnum, 0.0)
    return sorted(hits, key=lambda found: (-found.score, found.docnum))


def pair_bonus(searcher: Any, docnums: Sequence[int], pairs: Sequence[Phrase]) -> dict[int, float]:
    """For each of `docnums` (searcher-wide) that has a pair's words in order within its slop:
    the sum of their term scores, times the pair's boost (what `Phrase` would add). Positions
    are read for every document, scores only for those with a pair."""
    wanted = sorted(docnums)
    words = {(pair.fieldname, word) for pair in pairs for word in pair.words}
    bonus: dict[int, float] = {}
    for leaf, offset in searcher.leaf_searchers():
        end = offset + leaf.doc_count_all()
        local = [docnum - offset for docnum in wanted if offset <= docnum < end]
        if not local:
            continue
        positions = {key: _at(leaf, key, local, _positions) for key in words}
        together: list[tuple[int, tuple[str, str], tuple[str, str], float]] = []
        for pair in pairs:
            a, b = ((pair.fieldname, word) for word in pair.words[:2])
            together.extend((docnum, a, b, pair.boost) for docnum in positions[a].keys() & positions[b].keys()
                            if _near(positions[a][docnum], positions[b][docnum], pair.slop))
        scored: dict[tuple[str, str], set[int]] = {}
        for docnum, a, b, _ in together:
            scored.setdefault(a, set()).add(docnum)
            scored.setdefault(b, set()).add(docnum)
        scores = {key: _at(leaf, key, sorted(found), _score) for key, found in scored.items()}
        for docnum, a, b, boost in together:
            at = docnum + offset
            bonus[at] = bonus.get(at, 0.0) + (scores[a][docnum] + scores[b][docnum]) * boost
    return bonus


def _positions(matcher: Any) -> frozenset[int]:
    return frozenset(matcher.value_as("positions"))


def _score(matcher: Any) -> float:
    return float(matcher.score())


def _at(leaf: Any, key: tuple[str, str], docnums: list[int], read: Callable[[Any], T]) -> dict[int, T]:
    """`read(matcher)` at each of a segment's `docnums` (ascending) that has the term: its posting
    list skipped through, a block at a time, not walked."""
    matcher = Term(*key).matcher(leaf)
    found: dict[int, T] = {}
    for docnum in docnums:
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                break
        if matcher.id() == docnum:
            found[docnum] = read(matcher)
    return found


def _near(first: frozenset[int], second: frozenset[int], slop: int) -> bool:
    """The second word after the first, at most `slop` positions on (Whoosh's ordered SpanNear2
    with mindist 1)."""
    return any(position + step in second for position in first for step in range(1, slop + 1))
