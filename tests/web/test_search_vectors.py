"""Uncached searches score whole posting lists as arrays (kb.search.vectors): the documents a
query matches and their scores are Whoosh's own, across segments and deletions, and the term
arrays kept for the process stay within their bound."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from whoosh.query import AndNot

from kb.search import results, vectors
from kb.search.index import SearchIndex
from kb.search.matches import matching
from kb.search.query import parse_query
from tests.search_support import WORDS, two_segment_index


def _index(tmp_path: Path) -> SearchIndex:
    return two_segment_index(tmp_path, random.Random(5))


QUERIES = [*WORDS, "router modem", "refund invoice billing", "pasword", "emergncy", "login -phone",
           "error update server", "billing -refund -email", "certificate renewal", "Router modem",
           "the", "modem router invoice refund password login email"]


def test_a_search_as_arrays_finds_and_scores_what_whooshs_matchers_do_across_segments_and_deletions(
        tmp_path: Path) -> None:
    index = _index(tmp_path)
    searcher = index._searcher("en")
    assert searcher is not None
    reader = searcher.reader()
    assert reader.has_deletions() and len(list(reader.leaf_readers())) > 1
    compiler = index._compiler("en")
    for text in QUERIES:
        compiled = compiler.compile(parse_query(text), reader)
        assert compiled is not None, text
        evaluated = vectors.evaluate(searcher, compiled.query)
        assert evaluated is not None, text  # words, corrections, tiers, exclusions: all as arrays
        matched = matching(searcher, compiled.query)
        assert set(evaluated.mask.nonzero()[0].tolist()) == matched, text
        whoosh = {hit.docnum: hit.score for hit in searcher.search(compiled.query, limit=None, filter=matched)}
        ours = {hit.docnum: hit.score for hit in evaluated.top(searcher, len(matched) + 1)}
        assert ours.keys() == whoosh.keys(), text
        for docnum, score in whoosh.items():
            assert math.isclose(ours[docnum], score, rel_tol=1e-12), (text, docnum, ours[docnum], score)
        best = evaluated.top(searcher, 3)
        assert [hit.docnum for hit in best] == sorted(ours, key=lambda d: (-ours[d], d))[:3], text
    index.close()


def test_a_phrase_is_left_to_whoosh_and_its_search_still_finds_it(tmp_path: Path) -> None:
    index = _index(tmp_path)
    searcher = index._searcher("en")
    assert searcher is not None
    compiled = index._compiler("en").compile(parse_query('"security certificate"'), searcher.reader())
    assert compiled is not None
    assert vectors.evaluate(searcher, compiled.query) is None
    found = index.search("en", parse_query('"security certificate"'))
    assert found.total == len(matching(searcher, compiled.query))
    index.close()


def test_the_term_arrays_kept_for_the_process_stay_within_their_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = _index(tmp_path)
    vectors.clear()
    monkeypatch.setattr(vectors._kept, "capacity", 2_000)
    results: list[Any] = [index.search("en", parse_query(text)) for text in QUERIES]
    assert vectors._kept.total <= 2_000 or len(vectors._kept) == 1
    monkeypatch.setattr(vectors._kept, "capacity", vectors.POSTINGS_BYTES)
    vectors.clear()
    again = [index.search("en", parse_query(text)) for text in QUERIES]  # read afresh: the same results
    assert [(r.total, [h.slug for h in r.hits]) for r in again] == [(r.total, [h.slug for h in r.hits]) for r in results]
    index.close()


CLOSEST = ["emergncy refund -email", "certificate emergncy renewal", "invoice emergncy",
           "emergncy billing phone security", "pasword emergncy modem", "router emergncy -phone"]


def test_the_closest_matches_are_scored_as_arrays_with_whooshs_coordination_of_the_words_found(
        tmp_path: Path) -> None:
    """When no article has every word, the articles with some of them (results.any_of) rank by
    Whoosh's coordination formula, computed here over every match: the same matches and, where
    Whoosh's walk scored a document, the same score."""
    index = _index(tmp_path)
    searcher = index._searcher("en")
    assert searcher is not None
    compiler = index._compiler("en")
    for text in CLOSEST:
        found = index.search("en", parse_query(text))
        assert found.partial and found.hits, text  # no article has every word
        compiled = compiler.compile(parse_query(text), searcher.reader())
        assert compiled is not None
        query = results.any_of(searcher, compiled.clauses)
        if compiled.excluded is not None:
            query = AndNot(query, compiled.excluded)
        evaluated = vectors.evaluate(searcher, query)
        assert evaluated is not None, text
        matched = matching(searcher, query)
        assert set(evaluated.mask.nonzero()[0].tolist()) == matched, text
        whoosh = {hit.docnum: hit.score for hit in searcher.search(query, limit=None, filter=matched)}
        ours = {hit.docnum: hit.score for hit in evaluated.top(searcher, len(matched) + 1)}
        assert ours.keys() == whoosh.keys(), text
        for docnum, score in whoosh.items():
            assert math.isclose(ours[docnum], score, rel_tol=1e-9), (text, docnum, ours[docnum], score)
        assert [hit.slug for hit in found.hits] == [
            searcher.stored_fields(hit.docnum)["key"] for hit in evaluated.top(searcher, len(found.hits))]
    index.close()
