"""The parse cache kept across restarts, and reloads of only the files a watcher names."""

from __future__ import annotations

import os
from pathlib import Path

from kb.content.site import Change, Site
from kb.content.watch import changed_files
from tests.conftest import ContentTree


def _site(tree: ContentTree, cache: Path) -> Site:
    site = Site(tree.root, cache_file=cache)
    site.load()
    return site


def test_a_restart_takes_unchanged_articles_from_the_stored_cache(tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    tree.add("en", "modem", id=2, title="Modem setup")
    cache = tmp_path / "index" / "content-cache.pickle"
    first = _site(tree, cache)
    assert cache.is_file()
    second = _site(tree, cache)
    assert second._parsed.parsed == 0  # nothing read again: both came from the stored cache
    assert second.content.articles == first.content.articles


def test_a_cache_entry_is_ignored_when_the_file_changed(tree: ContentTree, tmp_path: Path) -> None:
    path = tree.add("en", "router", id=1, title="Router lights", body="Old answer.")
    cache = tmp_path / "content-cache.pickle"
    _site(tree, cache)
    # Same size, same modification time: only the inode of the atomic rewrite differs.
    stat = path.stat()
    replacement = path.with_name(".router.tmp")
    replacement.write_text(path.read_text(encoding="utf-8").replace("Old", "New"), encoding="utf-8")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, path)
    site = _site(tree, cache)
    assert "New answer." in site.article("en", "router").source
    assert _site(tree, cache)._parsed.parsed == 0  # the new reading was stored in its place


def test_a_damaged_or_foreign_cache_is_ignored(tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    cache = tmp_path / "content-cache.pickle"
    cache.write_bytes(b"not a pickle at all")
    assert _site(tree, cache).article("en", "router").title == "Router lights"
    other = ContentTree(tmp_path / "other")  # a cache written for another content folder
    other.add("en", "router", id=1, title="Another router")
    assert _site(other, cache).article("en", "router").title == "Another router"


def test_a_changed_categories_file_rereads_every_article(tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights", category="billing")
    cache = tmp_path / "content-cache.pickle"
    _site(tree, cache)
    tree.write_categories({"support": {"title": {"en": "Support"}}})
    site = _site(tree, cache)
    assert site.content.articles == {}  # billing is gone: the article is refused, not taken from the cache
    assert any("unknown category 'billing'" in str(p) for p in site.content.problems)


def test_a_reload_of_named_files_gives_what_a_full_reload_gives(tree: ContentTree) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    gone = tree.add("en", "modem", id=2, title="Modem setup")
    site = Site(tree.root)
    site.load()
    changes: list[Change] = []
    site.on_change(changes.append)
    tree.add("en", "router", id=1, title="Router colours")
    tree.add("en", "switch", id=3, title="Switch ports")
    tree.add("en", "clash", id=3, title="Same id as the switch")
    gone.unlink()
    named = {Path("en/billing/router.md"), Path("en/billing/switch.md"), Path("en/billing/clash.md"),
             Path("en/billing/modem.md")}
    change = site.load(named)
    # clash.md comes first in the tree: it keeps id 3, switch.md is refused (as a full load does)
    assert change == Change(frozenset({("en", "router"), ("en", "clash")}), frozenset({("en", "modem")}),
                            everything=False)
    assert changes == [change]
    full = Site(tree.root)
    full.load()
    assert site.content.articles == full.content.articles
    assert site.content.problems == full.content.problems  # the duplicate id, reported the same way


def test_what_a_notification_names_decides_what_is_reloaded(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    (root / "en" / "billing").mkdir(parents=True)
    named = [str(root / "en/billing/a.md"), str(root / "en/billing/.a.md.swp"), str(root / ".git/index"),
             str(root / "en/billing/.kb-123.tmp")]
    assert changed_files(root, named) == frozenset({Path("en/billing/a.md")})
    assert changed_files(root, [str(root / "categories.yaml")]) is None  # every article then
    assert changed_files(root, [str(root / "en/billing")]) is None  # a folder moved in or out
    assert changed_files(root, [str(tmp_path / "elsewhere.md")]) == frozenset()
