"""A start from the stored parse cache gives what a first reading of the tree gives: the same
files in the same order (the first file keeps a disputed slug), the changes made while the
server was stopped, and the garbage collector back on afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

from kb.content.site import Site
from tests.conftest import ContentTree


def _site(tree: ContentTree, cache: Path) -> Site:
    site = Site(tree.root, cache_file=cache)
    site.load()
    return site


def test_a_disputed_slug_goes_to_the_same_file_from_the_cache_as_from_the_tree(tree: ContentTree,
                                                                               tmp_path: Path) -> None:
    # Folders in path order ("a" before "a-b"), not in string order ("a-b/" before "a/").
    tree.add("en", "router", id=1, title="Router in a", folder="a")
    tree.add("en", "router", id=2, title="Router in a-b", folder="a-b")
    cache = tmp_path / "content-cache.pickle"
    first = _site(tree, cache)
    second = _site(tree, cache)
    assert second._parsed.parsed == 0
    for site in (first, second):
        assert site.article("en", "router").title == "Router in a"
        assert [p.message.split(":")[0] for p in site.content.problems] == ["duplicate slug 'router'"]


def test_a_start_sees_files_added_changed_and_removed_while_stopped(tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    gone = tree.add("en", "modem", id=2, title="Modem setup")
    cache = tmp_path / "content-cache.pickle"
    _site(tree, cache)
    gone.unlink()
    tree.add("en", "router", id=1, title="Router lights, again")
    tree.add("pt", "roteador", id=1, title="Luzes do roteador")
    site = _site(tree, cache)
    assert sorted(site.content.articles) == [("en", "router"), ("pt", "roteador")]
    assert site.article("en", "router").title == "Router lights, again"
    assert gc.isenabled()  # paused while loading only
