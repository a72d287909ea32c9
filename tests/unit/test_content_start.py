"""A start from the stored parse cache gives what a first reading of the tree gives: the same
files in the same order (the first file keeps a disputed slug), the changes made while the
server was stopped, and the garbage collector back on afterwards. Its shortcuts (a scan without
Paths, lists sorted a key at a time) give what the plain ways give."""

from __future__ import annotations

import gc
import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.content import stored
from kb.content.loader import ParseCache
from kb.content.model import Article
from kb.content.scan import file_stamp, scan_article_files
from kb.content.site import Site, _listed, _sorted_listed
from tests.conftest import CATEGORIES, ContentTree


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


def test_a_restored_article_knows_its_file_and_the_stored_cache_keeps_no_path_made_for_it(
        tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, folder="network/home")
    cache = tmp_path / "content-cache.pickle"
    first = _site(tree, cache)
    assert first.article("en", "router").path == Path("en/network/home/router.md")  # made, then stored
    stored.save(first._parsed, cache, tree.root)
    restored = _site(tree, cache).article("en", "router")
    assert "path" not in restored.__dict__  # not unpickled: made when first asked
    assert restored.file == "en/network/home/router.md"
    assert restored.path == Path("en/network/home/router.md")


_NAMES = st.sampled_from(["a", "a-b", "b", "faq.md", "x"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.lists(_NAMES, max_size=3), _NAMES, st.booleans()), max_size=12),
       linked=st.booleans())
def test_the_scan_lists_every_article_file_a_walk_of_the_tree_finds_links_followed_with_its_stamp(
        tmp_path_factory: pytest.TempPathFactory, files: list[tuple[list[str], str, bool]], linked: bool) -> None:
    # Folders named like files ("faq.md"), files that are not articles, a linked folder.
    root = tmp_path_factory.mktemp("content")
    for folders, name, article in files:
        path = root.joinpath(*folders, name if article else name + ".txt")
        if any(parent.is_file() for parent in path.parents) or path.is_dir():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    if linked:
        (root / "shared").mkdir()
        (root / "shared" / "linked.md").write_text("x", encoding="utf-8")
        (root / "en").mkdir(exist_ok=True)
        (root / "en" / "also").symlink_to(root / "shared")
    walked = {}
    for folder, _, names in os.walk(root, followlinks=True):
        for name in names:
            stamp = file_stamp(Path(folder, name))
            if name.endswith(".md") and stamp is not None:
                walked[Path(folder, name).relative_to(root).as_posix()] = stamp
    assert scan_article_files(root) == walked


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["Router", "router", "Modem", "ÉTÉ", "été"]),
                          st.sampled_from(["en", "pt"]), st.sampled_from(["a", "b", "a-b/c"])),
                max_size=30, unique_by=lambda t: (t[2], t[3], t[1])))
def test_lists_are_newest_first_then_by_title_language_and_file_however_many_ties(
        rows: list[tuple[int, str, str, str]]) -> None:
    articles = [Article(id=n + 1, lang=lang, slug=f"s{n}", title=title, summary="", category="c", tags=(),
                        type="faq", status="published", updated=date(2026, 1, 1 + day), video=None,
                        file=f"{folder}/s{n}.md", source="", revision="")
                for n, (day, title, lang, folder) in enumerate(rows)]
    assert _sorted_listed(list(articles)) == sorted(articles, key=_listed)


def test_a_start_where_no_file_changed_takes_the_last_load_and_its_lists_as_they_were(
        tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    tree.add("en", "router", id=2, title="Router again", folder="other")  # refused: its problem stays
    tree.add("pt", "roteador", id=1, title="Luzes do roteador")
    cache = tmp_path / "content-cache.pickle"
    first = _site(tree, cache)
    second = _site(tree, cache)
    assert second.content.articles is second._parsed.snapshot.articles  # no file gone over again
    assert second.content.articles == first.content.articles
    assert second.content.problems == first.content.problems
    assert second.published() == first.published() and second.languages == ("en", "pt")
    assert second.translations(second.article("en", "router")) == [second.article("pt", "roteador")]


def test_a_start_reports_a_new_problem_of_categories_yaml_with_the_last_load(tree: ContentTree,
                                                                           tmp_path: Path) -> None:
    tree.add("en", "router", id=1)
    cache = tmp_path / "content-cache.pickle"
    _site(tree, cache)
    tree.write_categories({**CATEGORIES, "billing": {**CATEGORIES["billing"], "icon": "rocket"}})
    site = _site(tree, cache)  # the same categories (an unknown icon is the default one)...
    assert site.content.articles is site._parsed.snapshot.articles
    assert [p.message.split(";")[0] for p in site.content.problems] == [
        "category 'billing': unknown icon 'rocket'"]  # ...and its problem


def test_an_edit_made_while_serving_is_what_the_next_start_shows(tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    cache = tmp_path / "content-cache.pickle"
    serving = _site(tree, cache)
    edited = tree.add("en", "router", id=1, title="Router lights, edited")
    serving.load([edited.relative_to(tree.root)])  # a watcher's reload: not stored
    assert serving.article("en", "router").title == "Router lights, edited"
    assert _site(tree, cache).article("en", "router").title == "Router lights, edited"


def _fresh_reading(tree: ContentTree) -> Site:
    """The tree read for the first time: no parse cache."""
    site = Site(tree.root)
    site.load()
    return site


def test_a_start_after_a_few_edits_while_stopped_reads_only_those(
        tree: ContentTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(1, 21):
        tree.add("en", f"article-{n}", id=n, title=f"Article {n}")
    cache = tmp_path / "content-cache.pickle"
    _site(tree, cache)
    tree.add("en", "article-3", id=3, title="Article 3, pulled while stopped")
    tree.add("en", "article-7", id=7, category="nowhere", folder="billing")  # a problem now: refused
    read: list[str] = []
    parse = ParseCache.parse
    monkeypatch.setattr(ParseCache, "parse", lambda self, root, file, *rest: read.append(file) or parse(
        self, root, file, *rest))
    started = _site(tree, cache)
    monkeypatch.undo()
    assert sorted(read) == ["en/billing/article-3.md", "en/billing/article-7.md"]  # not the twenty
    fresh = _fresh_reading(tree)
    assert list(started.content.articles.items()) == list(fresh.content.articles.items())
    assert started.content.problems == fresh.content.problems
    assert started.published() == fresh.published()
    read.clear()
    monkeypatch.setattr(ParseCache, "parse", lambda self, root, file, *rest: read.append(file) or parse(
        self, root, file, *rest))
    again = _site(tree, cache)  # the cache was not stored again: the next start reads them again
    monkeypatch.undo()
    assert sorted(read) == ["en/billing/article-3.md", "en/billing/article-7.md"]
    assert list(again.content.articles.items()) == list(fresh.content.articles.items())


EDITS = st.lists(st.tuples(st.integers(1, 12), st.sampled_from(["title", "id clash", "slug clash", "broken",
                                                                 "unknown category", "draft"])),
                 min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_a_start_after_any_few_edits_gives_what_a_first_reading_gives(tmp_path: Path,
                                                                      edits: list[tuple[int, str]]) -> None:
    folder = tmp_path / f"run-{os.urandom(4).hex()}"
    tree = ContentTree(folder / "articles")
    for n in range(1, 13):
        tree.add("en" if n % 3 else "pt", f"article-{n}", id=n, title=f"Article {n}")
    cache = folder / "content-cache.pickle"
    _site(tree, cache)
    for step, (n, edit) in enumerate(edits):
        lang, slug = ("en" if n % 3 else "pt"), f"article-{n}"
        fields: dict[str, object] = {"id": n, "title": f"Article {n}, edit {step}"}
        if edit == "id clash":
            fields["id"] = 3 if n != 3 else 6
        elif edit == "unknown category":
            fields["category"] = "nowhere"
        elif edit == "draft":
            fields["status"] = "draft"
        path = tree.add(lang, slug, folder="billing", **fields)
        if edit == "slug clash":  # its file now claims another's slug
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("---\n", f"---\nslug: article-{n % 12 + 1}\n", 1), encoding="utf-8")
        elif edit == "broken":
            path.write_text(f"---\ntitle: [unclosed {step}\n---\nbody", encoding="utf-8")
    started, fresh = _site(tree, cache), _fresh_reading(tree)
    assert list(started.content.articles.items()) == list(fresh.content.articles.items())
    assert started.content.problems == fresh.content.problems
    assert started.published() == fresh.published()
