"""After a commit, a thread's next searcher keeps the readers of the segments that did not change
(kb.search.readers.open_searcher) and finds exactly what a searcher opened afresh finds: an
edited article in its new version only, a removed one nowhere, whatever folds happened."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.query import Every, Term
from whoosh.scoring import BM25F

from kb.search.builds import Build
from kb.search.readers import open_searcher
from kb.search.updates import fold_segments, write_changes
from tests.unit.test_search_updates import SLUGS, _doc, _index

WEIGHTING = BM25F(B=0.75, K1=1.2)


def _found(searcher: Any) -> dict[str, object]:
    """What a search sees: every live article's stored title, and what each key and word finds."""
    return {
        "articles": sorted((hit["key"], hit["title"]) for hit in searcher.search(Every(), limit=None)),
        "by key": {slug: [hit["title"] for hit in searcher.search(Term("key", slug))] for slug in SLUGS},
        "by word": {version: sorted(hit["key"] for hit in searcher.search(Term("words", str(version))))
                    for version in range(16)},
        "count": searcher.doc_count(),
    }


def _leaves(searcher: Any) -> dict[tuple[str, int], Any]:
    return {(leaf.segment().segment_id(), leaf.segment().deleted_count()): leaf
            for leaf, _ in searcher.reader().leaf_readers()}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SLUGS), st.sampled_from(["edit", "edit", "remove", "fold"])),
                min_size=1, max_size=14))
def test_a_kept_searcher_finds_what_a_fresh_one_finds_after_any_edits_and_folds(
        steps: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        build = Build("b-test", Path(folder), {"en": _index(Path(folder))}, {})
        searcher = open_searcher(build.indexes["en"], WEIGHTING)
        for version, (slug, action) in enumerate(steps, start=1):
            if action == "fold":
                fold_segments(build, "en", beyond=2)
            else:
                docs, removed = ([], [slug]) if action == "remove" else ([_doc(slug, version)], [])
                build.indexes["en"] = write_changes(build, "en", docs, removed)
            before = _leaves(searcher)
            searcher = open_searcher(build.indexes["en"], WEIGHTING, previous=searcher)
            after = _leaves(searcher)
            with build.indexes["en"].searcher(weighting=WEIGHTING) as fresh:
                assert _found(searcher) == _found(fresh)
            if len(after) > 1:  # unchanged segments keep their reader; the others are closed
                for identity, leaf in before.items():
                    assert (after.get(identity) is leaf) != leaf.is_closed
            else:  # one segment: opened afresh, every older reader closed
                assert all(leaf.is_closed for leaf in before.values())
        searcher.close()


def test_an_edit_keeps_the_reader_of_the_full_builds_segment_when_it_lost_nothing() -> None:
    with tempfile.TemporaryDirectory() as folder:
        build = Build("b-test", Path(folder), {"en": _index(Path(folder))}, {})
        first = open_searcher(build.indexes["en"], WEIGHTING)
        (base,) = [leaf for leaf, _ in first.reader().leaf_readers()]
        build.indexes["en"] = write_changes(build, "en", [_doc("invoice", 1)], [])  # a new article
        second = open_searcher(build.indexes["en"], WEIGHTING, previous=first)
        assert next(leaf for leaf, _ in second.reader().leaf_readers()) is base
        build.indexes["en"] = write_changes(build, "en", [_doc("router", 2)], [])  # base loses router
        third = open_searcher(build.indexes["en"], WEIGHTING, previous=second)
        assert base.is_closed
        assert [hit["title"] for hit in third.search(Term("key", "router"))] == ["router version 2"]
        third.close()
