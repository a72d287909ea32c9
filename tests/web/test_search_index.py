"""The index on disk: built aside and swapped in, updated in place, rebuilt when damaged."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kb.content.site import CONTENT_CACHE_FILE, Site
from kb.search import service, updates
from kb.search.errors import SearchBusy
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from tests.conftest import CATEGORIES, ContentTree, MakeClient


def titles(client: Any, q: str, lang: str = "en") -> list[str]:
    body = client.get("/api/v1/search", params={"q": q, "lang": lang}).json()
    return [r["title"] for r in body["results"]]


def current_build(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def idle(client: Any) -> Any:
    """The client once its index is built or caught up (both run in the background)."""
    client.portal.call(client.app.state.kb.search.wait_idle)
    return client


def wait_for(predicate: Any, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        time.sleep(0.02)
    return time.monotonic() - started


# --- incremental updates -------------------------------------------------------------------


def test_an_edited_article_is_searchable_within_a_second(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "router", id=1, title="Router lights", body="The lights blink.")
    tree.add("en", "modem", id=2, title="Modem setup", body="Plug it in.")
    client = make_client(tree.root, watch_seconds=60)  # the test reloads, not the watcher
    assert titles(client, "zebra") == []
    tree.add("en", "router", id=1, title="Router lights", body="The lights blink like a zebra.")
    started = time.monotonic()
    client.app.state.kb.site.load()  # what the watcher or the editor does after a change
    elapsed = wait_for(lambda: titles(client, "zebra") == ["Router lights"], timeout=5)
    assert time.monotonic() - started < 1.0, elapsed
    assert titles(client, "blink") == ["Router lights"]  # the old copy is gone, not duplicated
    (tree.root / "en" / "billing" / "modem.md").unlink()
    client.app.state.kb.site.load()
    wait_for(lambda: titles(client, "modem") == [])
    assert titles(client, "router") == ["Router lights"]


def test_a_renamed_category_is_searched_by_its_new_name_at_once(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "router", id=1, title="Router lights", category="refunds")  # under billing
    tree.add("en", "login", id=2, title="Login help", category="accounts")
    client = make_client(tree.root, watch_seconds=60)
    assert titles(client, "zeppelin") == []
    tree.write_categories({**CATEGORIES, "billing": {**CATEGORIES["billing"], "title": {"en": "Zeppelin payments"}}})
    client.app.state.kb.site.load()  # no article's file changed
    client.portal.call(client.app.state.kb.search.wait_idle)
    assert titles(client, "zeppelin") == ["Router lights"]  # a sub-category's article too


def test_a_new_language_gets_its_own_index_while_serving(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    client = make_client(tree.root, watch_seconds=60)
    tree.add("de", "router-de", id=1, title="Router Kündigung", body="Kündigungen sind möglich.")
    client.app.state.kb.site.load()
    client.portal.call(client.app.state.kb.search.wait_idle)
    assert titles(client, "kundigung", "de") == ["Router Kündigung"]


def test_drafts_are_never_indexed_and_unpublishing_removes_an_article(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "draft", id=1, title="Secret roadmap", status="draft")
    tree.add("en", "other", id=3, title="Something else")
    tree.add("en", "public", id=2, title="Public roadmap")
    client = make_client(tree.root, watch_seconds=60)
    assert titles(client, "roadmap") == ["Public roadmap"]
    tree.add("en", "public", id=2, title="Public roadmap", status="draft")
    client.app.state.kb.site.load()
    client.portal.call(client.app.state.kb.search.wait_idle)
    assert titles(client, "roadmap") == []


def test_serve_updates_only_what_changed_since_the_last_run(make_client: MakeClient, tree: ContentTree, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    for number in range(1, 6):
        tree.add("en", f"page-{number}", id=number, title=f"Page {number} about routers")
    first = idle(make_client(tree.root))
    assert len(titles(first, "routers")) == 5
    build = current_build(tmp_path / "index")
    first.__exit__(None, None, None)
    tree.add("en", "page-3", id=3, title="Page 3 about switches")
    caplog.set_level(logging.INFO, logger="kb.search")
    caplog.clear()
    second = idle(make_client(tree.root))
    assert current_build(tmp_path / "index") == build  # not rebuilt
    assert "search index en: 1 updated, 0 removed" in caplog.text
    assert "building the search index" not in caplog.text
    assert titles(second, "switches") == ["Page 3 about switches"]
    assert len(titles(second, "routers")) == 4


# --- rebuilds ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["current-missing", "current-garbage", "build-deleted", "toc-garbage",
                                    "segment-truncated", "old-schema"])
def test_a_missing_or_damaged_index_is_rebuilt_at_start_with_a_log_line(
        make_client: MakeClient, tree: ContentTree, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str) -> None:
    tree.add("en", "router", id=1, title="Router lights", body="The lights blink.")
    idle(make_client(tree.root)).__exit__(None, None, None)  # the first build is in the background
    index_dir = tmp_path / "index"
    build = current_build(index_dir)
    if damage == "current-missing":
        (index_dir / "CURRENT").unlink()
    elif damage == "current-garbage":
        (index_dir / "CURRENT").write_bytes(b"\xff../../etc\n")
    elif damage == "build-deleted":
        for path in build.iterdir():
            path.unlink()
        build.rmdir()
    elif damage == "toc-garbage":
        for path in build.glob("*.toc"):
            path.write_bytes(b"garbage")
    elif damage == "segment-truncated":
        for path in build.glob("*.seg"):
            path.write_bytes(path.read_bytes()[:20])
    elif damage == "old-schema":
        (build / "kb-index.json").write_text('{"schema": 0}')
    caplog.set_level(logging.INFO, logger="kb.search")
    client = make_client(tree.root)
    assert "building the search index" in caplog.text
    assert titles(client, "router") == ["Router lights"]


def _big_tree(root: Path, count: int) -> None:
    tree = ContentTree(root)
    body = " ".join(f"word{n} lorem ipsum dolor" for n in range(300))
    for number in range(1, count + 1):
        tree.add("en", f"page-{number}", id=number, title=f"Router page {number}", body=body)


def _kb(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kb.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_kb_index_builds_with_a_progress_bar_and_update_only_reindexes_changes(tmp_path: Path) -> None:
    _big_tree(tmp_path / "articles", 12)
    ContentTree(tmp_path / "articles").add("pt", "roteador", id=13, title="Trocar o roteador",
                                           body="Como trocar o modem.")
    common = ["--content-dir", str(tmp_path / "articles"), "--index-dir", str(tmp_path / "index"),
              "--data-dir", str(tmp_path / "data")]
    process = _kb("index", *common)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "13/13" in err and "articles/s" in err
    assert "13 article(s)" in err
    assert "Traceback" not in err and "Warning" not in err  # a language per forked process
    # the parse cache the server starts from, stored by this build
    assert (tmp_path / "index" / CONTENT_CACHE_FILE).is_file()
    index = SearchIndex(tmp_path / "index")
    assert index.open()
    assert index.search("en", parse_query("router page")).total == 12
    assert [hit.slug for hit in index.search("pt", parse_query("roteadores")).hits] == ["roteador"]
    index.close()
    process = _kb("index", "--update", *common)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and "0 change(s)" in err


def test_a_killed_rebuild_leaves_the_previous_index_serving(tmp_path: Path) -> None:
    content = tmp_path / "articles"
    _big_tree(content, 5)
    index_dir = tmp_path / "index"
    site = Site(content)
    site.load()
    index = SearchIndex(index_dir)
    index.rebuild(site)
    before = current_build(index_dir)
    index.close()
    _big_tree(content, 400)  # long enough to be killed in the middle
    common = ["--content-dir", str(content), "--index-dir", str(index_dir), "--data-dir", str(tmp_path / "data")]
    process = _kb("index", *common)
    assert process.stderr is not None
    try:
        # Killed once the progress bar shows it past the start and well before the end: the
        # rest of the articles, the commit and the swap are still to come.
        seen = ""
        while not any(0 < int(done) <= 200 for done in re.findall(r"(\d+)/400", seen)):
            chunk = os.read(process.stderr.fileno(), 4096).decode(errors="replace")
            assert chunk, f"kb index ended before it could be killed: {seen[-500:]}"
            seen += chunk
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert current_build(index_dir) == before
    assert any(p.name.startswith("tmp-") for p in index_dir.iterdir())  # the abandoned build
    reopened = SearchIndex(index_dir)
    assert reopened.open()
    assert reopened.search("en", parse_query("router")).total == 5
    reopened.rebuild(site)  # the next rebuild clears what the killed one left
    # ... and keeps the previous build, which other processes may still read for a moment
    assert sorted(p.name for p in index_dir.iterdir() if p.is_dir()) == sorted(
        [before.name, current_build(index_dir).name])
    reopened.close()


def test_a_running_site_switches_to_a_build_made_by_kb_index(make_client: MakeClient, tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    client = make_client(tree.root, watch_seconds=60)
    tree.add("en", "switch", id=2, title="Switch ports")
    process = _kb("index", "--quiet", "--content-dir", str(tree.root), "--index-dir", str(tmp_path / "index"),
                  "--data-dir", str(tmp_path / "data"))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    wait_for(lambda: titles(client, "switch") == ["Switch ports"], timeout=3)


def test_another_writer_holding_the_lock_delays_updates_but_not_searches(
        make_client: MakeClient, tree: ContentTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(updates, "WRITE_TIMEOUT", 0.2)
    monkeypatch.setattr(service, "RETRY_SECONDS", 0.3)
    tree.add("en", "router", id=1, title="Router lights")
    client = idle(make_client(tree.root, watch_seconds=60))
    lock_path = current_build(tmp_path / "index") / "en_WRITELOCK"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what another process's writer holds
        index = client.app.state.kb.search.index
        tree.add("en", "switch", id=2, title="Switch ports")
        site = client.app.state.kb.site
        site.load()
        with pytest.raises(SearchBusy):
            index.sync(site)
        assert titles(client, "router") == ["Router lights"]
        assert titles(client, "switch") == []
    finally:
        os.close(fd)
    wait_for(lambda: titles(client, "switch") == ["Switch ports"], timeout=5)  # retried
