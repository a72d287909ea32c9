"""What a server process keeps in memory for search (kb.search.mapped): each index file mapped
once however many threads search it, read in place rather than copied per searcher, and let go
once no searcher uses it."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

from kb.content.site import Site
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from tests.conftest import ContentTree


def _maps_of(folder: Path) -> list[str]:
    """The memory maps of this process onto files of `folder` (one line per mapping)."""
    lines = Path("/proc/self/maps").read_text().splitlines()
    return [line.split()[-1] for line in lines if str(folder) in line]


def _index(tmp_path: Path, tree: ContentTree) -> tuple[Site, SearchIndex]:
    for number in range(1, 6):
        tree.add("en", f"page-{number}", id=number, title=f"Page {number}",
                 body=f"The router number {number} restarts after an update.")
    site = Site(tree.root)
    site.load()
    index = SearchIndex(tmp_path / "index")
    index.rebuild(site)
    return site, index


def test_searches_in_many_threads_map_each_index_file_once(tmp_path: Path, tree: ContentTree) -> None:
    _, index = _index(tmp_path, tree)
    try:
        found: list[int] = []

        def search() -> None:
            found.append(index.search("en", parse_query("router")).total)

        threads = [threading.Thread(target=search) for _ in range(4)]  # a searcher each
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert found == [5, 5, 5, 5]
        mapped = _maps_of(tmp_path / "index")
        assert mapped and len(mapped) == len(set(mapped))  # four searchers, one map per file
        searcher = index._searcher("en")
        assert searcher is not None
        postings = searcher.reader().leaf_readers()[0][0]._terms._postfile
        assert type(postings.file).__name__ == "ViewFile"  # read in place, not copied
    finally:
        index.close()


def test_an_edit_is_found_and_the_replaced_files_are_let_go(tmp_path: Path, tree: ContentTree) -> None:
    site, index = _index(tmp_path, tree)
    try:
        assert index.search("en", parse_query("router")).total == 5
        tree.add("en", "page-1", id=1, title="Page 1", body="The switch glows green.")
        site.load()
        assert index.sync(site) == 1
        assert [h.slug for h in index.search("en", parse_query("switch")).hits] == ["page-1"]
        assert index.search("en", parse_query("router")).total == 4  # the old version is gone
    finally:
        index.close()
    gc.collect()
    assert _maps_of(tmp_path / "index") == []  # every searcher closed: nothing left mapped
