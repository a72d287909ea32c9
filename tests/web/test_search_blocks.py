"""What a search keeps between commits (kb.search.matches): decoded posting blocks, for the
process (two indexes whose blocks sit at the same offsets still find their own words), and
segments, folded after the edit that added one is searchable."""

from __future__ import annotations

from pathlib import Path

from kb.content.site import Site
from kb.search import matches
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from kb.search.updates import MAX_SEGMENTS
from tests.conftest import ContentTree


def test_two_indexes_searched_in_turn_each_find_their_own_articles(tmp_path: Path, tree: ContentTree) -> None:
    indexes = []
    for name in ("left", "right"):
        for number in range(1, 6):  # the same layout in both: same terms, same block offsets
            tree.add("en", f"page-{number}", id=number, title=f"Page {number}",
                     body=f"The router of {name} number {number} restarts.")
        site = Site(tree.root)
        site.load()
        index = SearchIndex(tmp_path / name)
        index.rebuild(site)
        indexes.append((name, index))
    try:
        matches._blocks.clear()  # what this test's searches decode, not what earlier tests left
        for _ in range(2):  # the second time from the kept blocks
            for name, index in indexes:
                # A phrase is matched by Whoosh's own walk, which reads its blocks through the
                # kept ones (word searches score whole posting lists as arrays instead).
                hits = index.search("en", parse_query(f'"router of {name}"')).hits
                assert len(hits) == 5 and all(name in hit.highlight for hit in hits)
                assert index.search("en", parse_query(f"{name} router")).total == 5
                other = "right" if name == "left" else "left"
                assert index.search("en", parse_query(other)).total == 0
        assert matches._blocks  # kept
    finally:
        for _, index in indexes:
            index.close()


def test_edits_one_after_another_keep_few_segments_and_each_is_found(tmp_path: Path, tree: ContentTree) -> None:
    for number in range(1, 6):
        tree.add("en", f"page-{number}", id=number, title=f"Page {number}", body="The router restarts.")
    site = Site(tree.root)
    site.load()
    index = SearchIndex(tmp_path / "index")
    index.rebuild(site)
    try:
        for edit in range(MAX_SEGMENTS * 3):  # each edit a commit of its own, folded when too many
            tree.add("en", "page-1", id=1, title="Page 1", body=f"The router restarts. Marker{edit}word.")
            site.load()
            assert index.sync(site) == 1
            assert [h.slug for h in index.search("en", parse_query(f"marker{edit}word")).hits] == ["page-1"]
            assert index.search("en", parse_query("router")).total == 5  # the old version gone
            searcher = index._searcher("en")
            assert searcher is not None and len(searcher.reader().leaf_readers()) <= MAX_SEGMENTS
    finally:
        index.close()
