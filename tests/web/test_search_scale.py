"""What keeps search fast at 50,000 articles behaves like the simple way: the watcher's
reload of only the changed files, the build process's workers, a build killed midway."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kb.config import PROJECT_ROOT
from kb.content.site import Change, Site
from kb.search import builds
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from tests.conftest import ContentTree, MakeClient


def titles(client: Any, q: str, lang: str = "en") -> list[str]:
    body = client.get("/api/v1/search", params={"q": q, "lang": lang}).json()
    return [r["title"] for r in body["results"]]


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- the watcher ---------------------------------------------------------------------------------


def test_an_edit_on_disk_is_searchable_through_the_watcher_reloading_only_that_file(
        make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "router", id=1, title="Router lights", body="The lights blink.")
    tree.add("en", "modem", id=2, title="Modem setup", body="Plug it in.")
    client = make_client(tree.root, watch_seconds=60)  # a poll would come far too late
    assert client.app.state.watcher.mode == "notify"
    site: Site = client.app.state.kb.site
    changes: list[Change] = []
    site.on_change(changes.append)
    assert titles(client, "zebra") == []
    tree.add("en", "router", id=1, title="Router lights", body="The lights blink like a zebra.")
    wait_for(lambda: titles(client, "zebra") == ["Router lights"])
    assert titles(client, "blink") == ["Router lights"]  # replaced, not duplicated
    assert changes[0] == Change(frozenset({("en", "router")}), frozenset(), everything=False)
    (tree.root / "en" / "billing" / "modem.md").unlink()
    wait_for(lambda: titles(client, "modem") == [])
    assert Change(frozenset(), frozenset({("en", "modem")}), everything=False) in changes


def test_without_file_notifications_the_watcher_polls(make_client: MakeClient, tree: ContentTree,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", "1")  # what a network mount needs
    tree.add("en", "router", id=1, title="Router lights")
    client = make_client(tree.root, watch_seconds=0.05)
    assert client.app.state.watcher.mode == "polling"
    tree.add("en", "switch", id=2, title="Switch ports", body="Gigabit zebra ports.")
    wait_for(lambda: titles(client, "zebra") == ["Switch ports"])


# --- the build process ---------------------------------------------------------------------------

WORDS = ["router", "modem", "invoice", "refund", "password", "login", "email", "domain", "server", "backup", "storage", "mailbox", "calendar", "contract", "billing", "renewal", "transfer", "security", "certificate", "website", "hosting", "database", "migration", "error", "update", "settings", "team", "access", "phone", "emergency", "response"]
LANGS = {"en": 30, "fr": 14, "de": 12}


def _corpus(root: Path, seed: int = 7) -> ContentTree:
    tree = ContentTree(root)
    rng = random.Random(seed)
    for lang, count in LANGS.items():
        for number in range(1, count + 1):
            title = " ".join(rng.sample(WORDS, 3)).capitalize()
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120)))
            tree.add(lang, f"page-{number}", id=number, title=title, body=f"## {rng.choice(WORDS)}\n\n{body}\n",
                     tags=rng.sample(WORDS, 2), category=rng.choice(["billing", "accounts"]))
    return tree


def _results(index: SearchIndex, lang: str, query: str) -> tuple[int, list[tuple[str, float]]]:
    found = index.search(lang, parse_query(query), limit=50)
    return found.total, [(hit.slug, round(hit.score, 6)) for hit in found.hits]


def _build_process(site: Site, index_dir: Path, workers: int | None, hold: Path | None = None) -> Any:
    child = builds.start_build_process()
    assert child.stdin is not None
    child.stdin.write(builds.build_job(site, index_dir, workers, hold))
    child.stdin.close()
    return child


def test_the_build_process_workers_give_the_results_of_a_single_writer(tmp_path: Path) -> None:
    tree = _corpus(tmp_path / "articles")
    site = Site(tree.root)
    site.load()
    single, parallel = SearchIndex(tmp_path / "single"), SearchIndex(tmp_path / "parallel")
    single.rebuild(site)  # in this process, one language after the other
    child = _build_process(site, tmp_path / "parallel", workers=2)  # as the server starts it
    assert child.wait(120) == 0
    assert parallel.open()
    queries = [*WORDS, "router modem", "refund invoice billing", "pasword", "emergency -phone",
               '"security certificate"']
    for lang in LANGS:
        for query in queries:
            assert _results(parallel, lang, query) == _results(single, lang, query), (lang, query)
        assert parallel.suggest(lang, "ro") == single.suggest(lang, "ro")
    parallel.sync(site)  # the workers' fingerprints are the single writer's: nothing to redo
    assert builds.load_fingerprints(builds.open_current(tmp_path / "parallel")) == \
        builds.load_fingerprints(builds.open_current(tmp_path / "single"))
    single.close()
    parallel.close()


# A rebuild forking its workers, in a process of its own (forks need one without threads), with
# the workers held before their commits: what it reports while they wait is what they wrote.
PROGRESS_SCRIPT = """
import sys
from pathlib import Path
from kb.content.site import Site
from kb.search import builds
from kb.search.index import SearchIndex
content, index_dir, builds._HOLD = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
site = Site(content)
site.load()
def progress(done):
    print("progress", done, flush=True)
print("built", SearchIndex(index_dir).rebuild(site, progress=progress, workers=2), flush=True)
"""


def test_a_rebuild_on_workers_reports_its_progress_by_article_before_any_language_is_done(
        tmp_path: Path) -> None:
    tree = _corpus(tmp_path / "articles")
    hold = tmp_path / "hold"  # while it exists, the workers wait before their commit
    hold.touch()
    with subprocess.Popen([sys.executable, "-c", PROGRESS_SCRIPT, str(tree.root), str(tmp_path / "index"),
                           str(hold)], stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT) as child:
        assert child.stdout is not None
        # Should the progress not come, the hold is lifted after a while: the build then ends
        # and the test fails on what it reports, rather than waiting forever.
        lifted = threading.Timer(30, hold.unlink, kwargs={"missing_ok": True})
        lifted.start()
        try:
            # The two workers take the two largest languages and write every article of them;
            # counted by language, nothing would show until one of them is committed.
            first_two = LANGS["en"] + LANGS["fr"]
            reported = 0
            while reported < first_two:
                line = child.stdout.readline()
                assert line.startswith("progress "), f"the rebuild said {line!r} after {reported} article(s)"
                reported += int(line.split()[1])
            assert reported == first_two
            assert not list(tmp_path.glob("index/tmp-*/*_1.toc"))  # no language committed yet (0: created)
            hold.unlink()
            rest = child.stdout.read().splitlines()
            assert child.wait(60) == 0
        finally:
            lifted.cancel()
            child.kill()
    assert rest[-1] == f"built {sum(LANGS.values())}"
    assert reported + sum(int(line.split()[1]) for line in rest[:-1]) == sum(LANGS.values())  # none twice


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_build_process_killed_midway_leaves_the_served_index_intact(tmp_path: Path, how: int) -> None:
    tree = ContentTree(tmp_path / "articles")
    tree.add("en", "router", id=1, title="Router lights")
    tree.add("fr", "routeur", id=1, title="Routeur")
    site = Site(tree.root)
    site.load()
    index_dir = tmp_path / "index"
    served = SearchIndex(index_dir)
    served.rebuild(site)
    before = (index_dir / "CURRENT").read_text()
    for number in range(2, 42):
        tree.add("en" if number % 2 else "fr", f"page-{number}", id=number, title=f"Page {number}")
    site.load()
    hold = tmp_path / "hold"  # while it exists, the workers wait before their commit: midway
    hold.touch()
    child = _build_process(site, index_dir, workers=2, hold=hold)
    try:
        # Both workers are writing: each holds its language's write lock in the unfinished build.
        wait_for(lambda: len(list(index_dir.glob("tmp-*/*_WRITELOCK"))) == 2, timeout=60)
        workers = _children(child.pid)
        assert len(workers) == 2
    finally:
        child.send_signal(how)
        child.wait(30)
    assert (index_dir / "CURRENT").read_text() == before
    assert served.search("en", parse_query("router")).total == 1
    assert served.search("en", parse_query("page")).total == 0
    # Stopped with the server (SIGTERM), its workers stop with it; killed outright (SIGKILL), a
    # worker notices its parent is gone and stops working for nobody.
    wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=10)
    assert hold.exists()  # they stopped on their own, not because the hold was lifted
    served.rebuild(site)  # the next build clears what the killed one left
    assert served.search("en", parse_query("page")).total == 20
    assert not [p for p in index_dir.iterdir() if p.name.startswith("tmp-")]
    served.close()
    assert os.path.exists(index_dir / "CURRENT")
