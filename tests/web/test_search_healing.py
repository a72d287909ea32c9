"""The search index heals itself: built in the background while pages are served, rebuilt when
its folder is deleted under a running site, and never deleting a build that may still be read."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.content.site import Site
from kb.search import index as index_module
from kb.search import service
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from kb.web.app import create_app
from tests.conftest import CATEGORIES, ContentTree, MakeClient, settings_for

LONG_BODY = "\n\n".join(f"Paragraph {n}: the router forwards packets between networks, lorem ipsum "
                        f"dolor sit amet word{n}." for n in range(40))


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def health(client: TestClient) -> str:
    response = client.get("/healthz")
    assert response.status_code == 200
    return str(response.json()["search"])


def total(client: TestClient, q: str = "router", lang: str = "en") -> int:
    response = client.get("/api/v1/search", params={"q": q, "lang": lang})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def idle(client: TestClient) -> None:
    client.portal.call(client.app.state.kb.search.wait_idle)  # type: ignore[attr-defined]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds a build until the test opens it (see `released`: a failing test never hangs)."""
    event = threading.Event()
    yield event
    event.set()


@contextlib.contextmanager
def released(gate: threading.Event) -> Iterator[None]:
    """Opens the gate on the way out, before the app waits for its held build to stop."""
    try:
        yield
    finally:
        gate.set()


def assert_building_answers(client: TestClient) -> None:
    """What a reader and an API client get while the index is being built."""
    page = client.get("/en/search", params={"q": "router"})
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.h1 is not None and soup.h1.get_text() == "Search is not available yet"
    assert "The search index is being built, try again in a moment." in soup.get_text()
    french = client.get("/fr/search", params={"q": "routeur"})
    assert french.status_code == 503
    assert "L'index de recherche est en cours de construction" in BeautifulSoup(french.text, "html.parser").get_text()
    api = client.get("/api/v1/search", params={"q": "router", "lang": "en"})
    assert api.status_code == 503 and api.headers["retry-after"] == "5"
    assert api.json() == {"error": "The search index is being built, try again in a moment."}
    suggest = client.get("/api/v1/suggest", params={"q": "rou", "lang": "en"})
    assert suggest.status_code == 503 and suggest.headers["retry-after"] == "5"


# --- a site started without an index ----------------------------------------------------------


def test_a_site_started_without_an_index_serves_pages_at_once_and_builds_it_in_a_child_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: threading.Event) -> None:
    monkeypatch.setattr(service, "READY_WAIT_SECONDS", 0.1)
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 121):
        tree.add("en", f"router-{number}", id=number, title=f"Router question {number}", body=LONG_BODY)
    tree.add("fr", "routeur", id=1, title="Routeur")
    app = create_app(settings_for(tmp_path, tree.root))
    search = app.state.kb.search
    search.process_build_min = 100  # this tree is "large": build it in a child process
    search.before_build = lambda: gate.wait(60)
    with TestClient(app, follow_redirects=False) as client, released(gate):
        # The build is held: everything below happens before the index exists.
        assert health(client) == "building"
        article = client.get("/en/articles/router-7")
        assert article.status_code == 200 and "Router question 7" in article.text
        assert client.get("/en/").status_code == 200
        assert_building_answers(client)
        assert not (tmp_path / "index" / "CURRENT").exists()

        gate.set()
        idle(client)
        assert health(client) == "ok"
        assert total(client) == 120
        assert client.get("/en/search", params={"q": "router"}).status_code == 200
        build = (tmp_path / "index" / "CURRENT").read_text().strip()
        builder_pid = int(build.split("-")[2])  # b-<time>-<pid>-<random>
        assert builder_pid != os.getpid()  # the server's memory never held the build


def test_a_build_process_killed_midway_leaves_no_broken_index_and_the_server_builds_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 201):
        tree.add("en", f"router-{number}", id=number, title=f"Router question {number}", body=LONG_BODY)
    app = create_app(settings_for(tmp_path, tree.root))
    search = app.state.kb.search
    search.process_build_min = 100
    index_dir = tmp_path / "index"
    with TestClient(app) as client:
        # Killed once it writes its build (tmp-): the articles, the commit and the swap are to come.
        wait_for(lambda: search._child is not None and index_dir.is_dir()
                 and any(p.name.startswith("tmp-") for p in index_dir.iterdir()), timeout=60)
        child = search._child
        child.send_signal(signal.SIGKILL)
        idle(client)
        assert child.returncode == -signal.SIGKILL
        assert "build process failed (exit status -9)" in caplog.text
        assert health(client) == "ok" and total(client) == 200
        build = (index_dir / "CURRENT").read_text().strip()
        assert int(build.split("-")[2]) == os.getpid()  # built again, by the server itself
        assert [p.name for p in index_dir.iterdir() if p.is_dir()] == [build]  # the killed one's tmp- is gone


def test_a_small_site_is_built_in_the_server_process(make_client: MakeClient, tree: ContentTree, tmp_path: Path) -> None:
    tree.add("en", "router", id=1, title="Router lights")
    client = make_client(tree.root)
    assert total(client) == 1  # a search made during a short build waits for it
    build = (tmp_path / "index" / "CURRENT").read_text().strip()
    assert int(build.split("-")[2]) == os.getpid()
    assert health(client) == "ok"


def test_a_search_made_during_a_build_waits_for_it_rather_than_failing(
        tmp_path: Path, gate: threading.Event) -> None:
    tree = ContentTree(tmp_path / "articles")
    tree.add("en", "router", id=1, title="Router lights")
    app = create_app(settings_for(tmp_path, tree.root))
    search = app.state.kb.search
    search.before_build = lambda: gate.wait(60)
    with TestClient(app) as client:
        threading.Timer(0.3, gate.set).start()  # well within READY_WAIT_SECONDS
        assert total(client) == 1


# --- the index folder deleted under a running site ---------------------------------------------


@pytest.mark.parametrize("noticed_by", ["healthz", "search", "edit"])
def test_a_deleted_index_folder_is_rebuilt_with_one_log_line(
        make_client: MakeClient, tree: ContentTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, gate: threading.Event, noticed_by: str) -> None:
    monkeypatch.setattr(service, "READY_WAIT_SECONDS", 0.1)
    tree.add("en", "router", id=1, title="Router lights")
    tree.add("fr", "routeur", id=1, title="Routeur")
    client = make_client(tree.root, watch_seconds=60)  # the test reloads, not the watcher
    idle(client)
    assert total(client) == 1 and health(client) == "ok"
    search = client.app.state.kb.search
    search.before_build = lambda: gate.wait(60)
    caplog.set_level(logging.INFO, logger="kb.search")
    caplog.clear()
    with released(gate):
        rebuilt_after_deletion(client, tree, tmp_path, gate, noticed_by)
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert "is gone" in problems[0].getMessage() and "rebuilding it" in problems[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert any("search index built" in r.getMessage() for r in caplog.records)


def rebuilt_after_deletion(client: TestClient, tree: ContentTree, tmp_path: Path, gate: threading.Event,
                           noticed_by: str) -> None:
    search = client.app.state.kb.search  # type: ignore[attr-defined]
    shutil.rmtree(tmp_path / "index")
    if noticed_by == "healthz":
        wait_for(lambda: health(client) == "rebuilding")
    elif noticed_by == "search":
        wait_for(lambda: client.get("/api/v1/search", params={"q": "router", "lang": "en"}).status_code == 503)
    else:  # an edit's index update finds the folder gone (this used to log a traceback every 2 s)
        tree.add("en", "switch", id=2, title="Switch ports")
        client.app.state.kb.site.load()
        wait_for(lambda: search.status == "rebuilding")
    assert health(client) == "rebuilding"
    assert_building_answers(client)
    tree.add("en", "modem", id=3, title="Modem router")  # changed while it is rebuilt: in it
    client.app.state.kb.site.load()

    gate.set()
    idle(client)
    assert health(client) == "ok"
    assert total(client) == 2 and total(client, "modem") == 1
    assert total(client, "switch") == (1 if noticed_by == "edit" else 0)


# --- builds kept and removed ---------------------------------------------------------------------


def test_twenty_back_to_back_rebuilds_always_keep_the_previous_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process keeps serving the build it opened until its next look at CURRENT.
    monkeypatch.setattr(index_module, "POLL_SECONDS", 3600.0)
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 4):
        tree.add("en", f"router-{number}", id=number, title=f"Router {number}")
    site = Site(tree.root)
    site.load()
    index_dir = tmp_path / "index"
    writer = SearchIndex(index_dir)
    writer.rebuild(site)
    try:
        for _ in range(20):  # several per second: names alone cannot tell which build is older
            previous = (index_dir / "CURRENT").read_text().strip()
            other = SearchIndex(index_dir)  # another process, on the build about to be replaced
            assert other.open()
            writer.rebuild(site)
            current = (index_dir / "CURRENT").read_text().strip()
            assert current != previous
            assert sorted(p.name for p in index_dir.iterdir() if p.is_dir()) == sorted([previous, current])
            assert (index_dir / "PREVIOUS").read_text().strip() == previous
            # a searcher opened on the previous build after the swap still reads it whole
            assert other.search("en", parse_query("router")).total == 3
            other.close()
    finally:
        writer.close()


def test_a_site_left_without_an_open_index_and_no_build_coming_starts_one(
        make_client: MakeClient, tree: ContentTree) -> None:
    # The safety net behind on_lost: a folder deleted again just as a rebuild finished.
    tree.add("en", "router", id=1, title="Router lights")
    client = make_client(tree.root)
    idle(client)
    search = client.app.state.kb.search
    search.index.close()  # no build open, none queued, status still "ok"
    assert health(client) == "rebuilding"
    idle(client)
    assert health(client) == "ok" and total(client) == 1


def test_a_change_to_most_articles_is_built_aside_while_the_open_index_answers(
        tmp_path: Path, gate: threading.Event) -> None:
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 121):
        tree.add("en", f"router-{number}", id=number, title=f"Router question {number}")
    app = create_app(settings_for(tmp_path, tree.root))
    search = app.state.kb.search
    search.process_build_min = 100  # this tree is "large"
    current = tmp_path / "index" / "CURRENT"
    with TestClient(app, follow_redirects=False) as client, released(gate):
        idle(client)
        first = current.read_text()
        search.before_build = lambda: gate.wait(60)
        # Every article's category is renamed: 120 documents, more than a quarter of them.
        tree.write_categories({**CATEGORIES, "billing": {**CATEGORIES["billing"],
                                                         "title": {"en": "Zeppelin payments"}}})
        app.state.kb.site.load()
        wait_for(lambda: search._child is None and search._build_queued)  # the build, held
        assert health(client) == "ok"  # the open index answers meanwhile, as it was
        assert total(client, "router") == 120 and total(client, "zeppelin") == 0
        gate.set()
        idle(client)
        assert current.read_text() != first  # a new build, not 120 writes in place
        assert total(client, "zeppelin") == 120
        # One article is still written in place.
        search.before_build = None
        built = current.read_text()
        tree.add("en", "router-7", id=7, title="Router question 7 airship")
        app.state.kb.site.load()
        idle(client)
        assert total(client, "airship") == 1 and current.read_text() == built
