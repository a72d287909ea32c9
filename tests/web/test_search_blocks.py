"""Decoded posting blocks are kept for the process (kb.search.matches): two indexes, or two
builds of one index, whose blocks sit at the same offsets must still each find their own words."""

from __future__ import annotations

from pathlib import Path

from kb.content.site import Site
from kb.search import matches
from kb.search.index import SearchIndex
from kb.search.query import parse_query
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
        for _ in range(2):  # the second time from the kept blocks
            for name, index in indexes:
                hits = index.search("en", parse_query("router")).hits
                assert len(hits) == 5 and all(name in hit.highlight for hit in hits)
                assert index.search("en", parse_query(name)).total == 5
                other = "right" if name == "left" else "left"
                assert index.search("en", parse_query(other)).total == 0
        assert matches._blocks  # kept
    finally:
        for _, index in indexes:
            index.close()
