"""The proximity bonus is added to the best hits only (kb.search.proximity): the figure must be
the one Whoosh gives the same pairs as optional phrase clauses, on an index of several
segments, and the order the same as scoring every candidate."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh.query import And, AndMaybe, Term
from whoosh.query import DefaultOr as Or

from kb.content.site import Site
from kb.search import proximity
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from tests.conftest import ContentTree

BODIES = [
    "Start the stopped service, then check its log.",
    "The service was stopped. Start it from the panel.",
    "Start here. A stopped clock. The service desk answers.",
    "Stopped services start again after a restart of the service.",
    "Check the log before you start; a stopped service says why.",
]


@pytest.fixture
def index(tmp_path: Path, tree: ContentTree) -> SearchIndex:
    for number, body in enumerate(BODIES, start=1):
        tree.add("en", f"page-{number}", id=number, title=f"Page {number}", body=body * number)
    site = Site(tree.root)
    site.load()
    found = SearchIndex(tmp_path / "index")
    found.rebuild(site)
    tree.add("en", "page-9", id=9, title="Page nine", body="Start stopped service now. " + BODIES[1])
    site.load()
    assert found.sync(site) == 1  # a second segment: its document numbers are offset
    return found


def test_the_bonus_of_the_best_hits_is_whooshs_phrase_score(index: SearchIndex) -> None:
    searcher = index._searcher("en")
    assert searcher is not None and len(searcher.reader().leaf_readers()) == 2
    compiled = index._compiler("en").compile(parse_query("start stopped service"), searcher.reader())
    assert compiled is not None and len(compiled.pairs) == 2
    everything = [hit.docnum for hit in searcher.search(compiled.query, limit=None)]
    bonus = proximity.pair_bonus(searcher, everything, compiled.pairs)
    expected: dict[int, float] = {}
    for pair in compiled.pairs:
        for hit in searcher.search(pair, limit=None):
            expected[hit.docnum] = expected.get(hit.docnum, 0.0) + hit.score
    assert set(bonus) == set(expected) and len(bonus) >= 3
    for docnum, score in expected.items():
        assert bonus[docnum] == pytest.approx(score)
    index.close()


def test_rescoring_the_best_hits_orders_them_as_scoring_every_candidate(index: SearchIndex) -> None:
    searcher = index._searcher("en")
    assert searcher is not None
    for text in ("start stopped service", "stopped service start", "service start"):
        compiled = index._compiler("en").compile(parse_query(text), searcher.reader())
        assert compiled is not None and compiled.pairs
        pairs = compiled.pairs[0] if len(compiled.pairs) == 1 else Or(list(compiled.pairs))
        whole = searcher.search(AndMaybe(compiled.query, pairs), limit=None)
        shown = [h.slug for h in index.search("en", parse_query(text)).hits]
        assert shown == [h.fields()["key"] for h in whole][:10], text
    index.close()


def test_the_bound_of_a_bonus_is_every_pair_whose_two_words_a_hit_has(index: SearchIndex) -> None:
    """What rescore looks at hits by: never below the bonus, and exactly the pairs' scores
    counted as if their words stood side by side."""
    searcher = index._searcher("en")
    assert searcher is not None
    compiled = index._compiler("en").compile(parse_query("start stopped service"), searcher.reader())
    assert compiled is not None and len(compiled.pairs) == 2
    everything = [hit.docnum for hit in searcher.search(compiled.query, limit=None)]
    bound = proximity.pair_bonus(searcher, everything, compiled.pairs, bound=True)
    exact = proximity.pair_bonus(searcher, everything, compiled.pairs)
    expected: dict[int, float] = {}
    for pair in compiled.pairs:  # both words anywhere: the pair as an And of its terms
        for hit in searcher.search(And([Term(pair.fieldname, word) for word in pair.words]), limit=None):
            expected[hit.docnum] = expected.get(hit.docnum, 0.0) + hit.score * pair.boost
    assert set(bound) == set(expected) and set(exact) <= set(bound) and len(bound) > len(exact)
    for docnum, score in expected.items():
        assert bound[docnum] == pytest.approx(score)
        assert bound[docnum] >= exact.get(docnum, 0.0) - 1e-9
    index.close()
