"""Two `kb serve` nodes on one git remote (issue 12, the content part of the cluster test): separate
processes, clones, index and data folders; a publish on one shows on the other's page and search
within 5 s, and a commit pushed from a third clone shows on both. The nodes share one PostgreSQL
database (real, the session's throwaway cluster): a push is announced by NOTIFY, and a session
made on one node works on the other. Votes and the login limit are shared through the database: a
vote on one node is counted on the other at once, and a `kill -9` of a node in the middle of a
stream of votes loses none that was acknowledged.

Starting a pair of nodes is most of this module's time: the tests that only need a fresh article,
account or visitor share one pair (module-scoped, on one xdist worker); the two that need their
own settings, a node killed or a database nobody else wrote to start their own."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from itsdangerous import Signer

from kb.content.remote import git
from kb.web.security import VISITOR_COOKIE, visitor_hash
from tests.admin_support import form_fields
from tests.cluster_support import Node, running, wait_for
from tests.conftest import ContentTree
from tests.pg_cluster import Cluster
from tests.web.test_content_remote import BRANCH, commit_all, make_remote

VISIBLE_WITHIN = 5.0  # seconds, the figure


@contextlib.contextmanager
def two_nodes(tmp_path: Path, tree: ContentTree, pg_url: str, **settings: str) -> Iterator[tuple[Node, Node, Path]]:
    remote = make_remote(tmp_path, tree)
    shared = {"KB_CONTENT_REMOTE": str(remote), "KB_SECRET_KEY": secrets.token_urlsafe(32),
              "KB_CONTENT_POLL_SECONDS": "1", "KB_DATABASE": pg_url, **settings}
    a, b = Node(tmp_path, "a", shared), Node(tmp_path, "b", shared)
    with running(a, b):
        yield a, b, remote


@pytest.fixture(scope="module")
def shared_pair(tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster) -> Iterator[tuple[Node, Node, Path]]:
    folder = tmp_path_factory.mktemp("cluster")
    url = pg_cluster.create_database()
    try:
        with two_nodes(folder, ContentTree(folder / "articles"), url) as started:
            yield started
    finally:
        pg_cluster.drop_database(url)


@pytest.fixture
def nodes(shared_pair: tuple[Node, Node, Path]) -> tuple[Node, Node, Path]:
    """The module's two nodes, seen by new browsers (no cookie of an earlier test)."""
    for node in shared_pair[:2]:
        node.new_browser()
    return shared_pair


shared = pytest.mark.xdist_group("cluster")  # the pair is started once, on one worker


@shared
def test_a_publish_on_one_node_shows_on_the_others_page_and_search_within_5_s(nodes: tuple[Node, Node, Path]) -> None:
    a, b, remote = nodes
    a.sign_in("dana")
    form = form_fields(a.http.get("/admin/articles/new").text)
    form.update(lang="en", slug="", title="Chargebacks explained", summary="What a chargeback is.",
                category="billing", type="faq", updated="2026-02-02", message="chargebacks",
                body="## Answer\n\nA chargeback reverses a card payment.\n")
    response = a.http.post("/admin/articles/new", data={**form, "action": "publish"})
    assert response.status_code == 303, response.text
    assert "reverses a card payment" in git(remote, "show", f"{BRANCH}:en/billing/chargebacks-explained.md").stdout
    wait_for(lambda: b.http.get("/en/articles/chargebacks-explained").status_code == 200, VISIBLE_WITHIN)
    wait_for(lambda: "Chargebacks explained" in b.http.get("/en/search", params={"q": "chargeback"}).text,
             VISIBLE_WITHIN)


@shared
def test_a_commit_pushed_from_a_third_clone_shows_on_both_nodes(tmp_path: Path, nodes: tuple[Node, Node, Path]) -> None:
    a, b, remote = nodes
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "--quiet", str(remote), str(laptop))
    path = laptop / "en" / "billing" / "refund-policy.md"
    path.write_text(path.read_text().replace("30 days", "45 days"), encoding="utf-8")
    commit_all(laptop, "refunds: 45 days")
    git(laptop, "push", "--quiet", "origin", BRANCH)
    for node in (a, b):
        wait_for(lambda n=node: "within 45 days" in n.http.get("/en/articles/refund-policy").text, VISIBLE_WITHIN)
        wait_for(lambda n=node: "Refund policy" in n.http.get("/en/search", params={"q": "45 days"}).text,
                 VISIBLE_WITHIN)


@shared
def test_a_session_made_on_one_node_works_on_the_other(nodes: tuple[Node, Node, Path]) -> None:
    a, b, _ = nodes
    a.sign_in("eli")  # each test of the pair its own account
    b.http.cookies = a.http.cookies
    editor = b.http.get("/admin/articles/en/refund-policy")
    assert editor.status_code == 200
    assert 'name="csrf_token"' in editor.text and "refund-policy" in editor.text  # the editor, not a login page



# A reader's browser: a script's user agent (httpx's own) votes too, but kb.analytics.visitors
# counts it in no tally, on any node.
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/126.0 Safari/537.36"}
VOTES = "/api/v1/articles/en/{slug}/votes"


@shared
def test_a_vote_on_one_node_is_counted_on_the_other_at_once(nodes: tuple[Node, Node, Path]) -> None:
    a, b, _ = nodes
    url = VOTES.format(slug="refund-policy")
    answer = a.http.post(url, json={"helpful": True}, headers=BROWSER)
    assert answer.status_code == 201 and answer.json()["yes"] == 1
    assert (b.http.get(url).json()["yes"], b.http.get(url).json()["no"]) == (1, 0)
    b.http.cookies = a.http.cookies  # the same reader, now sent to B, changes their mind
    changed = b.http.post(url, json={"helpful": False, "reason": "incorrect"}, headers=BROWSER)
    assert changed.status_code == 200 and (changed.json()["yes"], changed.json()["no"]) == (0, 1)
    assert a.http.get(url).json()["vote"]["helpful"] is False
    # A script's vote is stored (its caller sees it) but counted on neither node.
    script = httpx.post(f"{a.url}{url}", json={"helpful": True})
    assert script.status_code == 201 and script.json()["vote"]["helpful"] is True
    assert [(n.http.get(url).json()["yes"], n.http.get(url).json()["no"]) for n in (a, b)] == [(0, 1), (0, 1)]


def test_the_login_limit_counts_attempts_made_on_both_nodes(tmp_path: Path, tree: ContentTree, pg_url: str) -> None:
    with two_nodes(tmp_path, tree, pg_url, KB_LOGIN_RATE_LIMIT="3") as (a, b, _):
        a.add_user("dana", password="a long password 42")
        assert [node.log_in("dana", "wrong password").status_code for node in (a, b, a)] == [403, 403, 403]
        refused = b.log_in("dana", "a long password 42")  # the right password, past the limit
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert a.log_in("dana", "a long password 42").status_code == 429


STREAM = 500  # votes, half sent to each node, all at once
KILL_AFTER = 40  # votes acknowledged by A before its kill -9


def test_a_node_killed_during_500_concurrent_votes_loses_none_it_acknowledged(
        tmp_path: Path, tree: ContentTree, pg_url: str) -> None:
    secret = secrets.token_urlsafe(32)
    with two_nodes(tmp_path, tree, pg_url, KB_SECRET_KEY=secret, KB_VOTE_RATE_LIMIT="100000") as (a, b, remote):
        signer = Signer(secret, salt="kb.visitor")
        readers = [secrets.token_urlsafe(16) for _ in range(STREAM)]
        acknowledged: dict[str, list[str]] = {"a": [], "b": []}
        refused: dict[str, list[str]] = {"a": [], "b": []}

        async def stream() -> None:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=a.url, timeout=60, limits=limits) as to_a, \
                    httpx.AsyncClient(base_url=b.url, timeout=60, limits=limits) as to_b:

                async def vote(number: int, reader: str) -> None:
                    node, client = ("a", to_a) if number % 2 == 0 else ("b", to_b)
                    slug = ("refund-policy", "account-basics")[number % 4 // 2]
                    headers = {**BROWSER, "Cookie": f"{VISITOR_COOKIE}={signer.sign(reader).decode()}"}
                    try:
                        answer = await client.post(VOTES.format(slug=slug), json={"helpful": number % 3 != 0},
                                                   headers=headers)
                    except httpx.TransportError:
                        refused[node].append(reader)
                        return
                    (acknowledged if answer.status_code == 201 else refused)[node].append(reader)

                async def kill_a() -> None:
                    while len(acknowledged["a"]) < KILL_AFTER:
                        await asyncio.sleep(0.002)
                    a.kill()

                killer = asyncio.create_task(kill_a())
                await asyncio.gather(*(vote(n, reader) for n, reader in enumerate(readers)))
                await asyncio.wait_for(killer, 5)

        asyncio.run(stream())
        assert KILL_AFTER <= len(acknowledged["a"]) < STREAM // 2 and refused["a"]  # killed mid-stream
        assert len(acknowledged["b"]) == STREAM // 2 and not refused["b"]  # B kept serving

        with psycopg.connect(pg_url) as conn:
            stored = {visitor: helpful for visitor, helpful in conn.execute("SELECT visitor, helpful FROM votes")}
            tallies = conn.execute("SELECT sum(yes), sum(no) FROM vote_tallies").fetchone()
        for number, reader in enumerate(readers):
            if reader in acknowledged["a"] or reader in acknowledged["b"]:
                assert stored.get(visitor_hash(secret, reader)) == int(number % 3 != 0), f"vote {number} lost"
        assert tallies is not None and tallies[0] + tallies[1] == len(stored)  # the tallies agree

        laptop = tmp_path / "laptop"  # while A is down, the content moves on
        git(tmp_path, "clone", "--quiet", str(remote), str(laptop))
        path = laptop / "en" / "billing" / "refund-policy.md"
        path.write_text(path.read_text().replace("30 days", "60 days"), encoding="utf-8")
        commit_all(laptop, "refunds: 60 days")
        git(laptop, "push", "--quiet", "origin", BRANCH)
        with a:  # restarted, A catches up with the database and the remote by itself
            counted = a.http.get(VOTES.format(slug="refund-policy")).json()
            assert counted["total"] == sum(1 for n, r in enumerate(readers)
                                           if visitor_hash(secret, r) in stored and n % 4 // 2 == 0)
            wait_for(lambda: "within 60 days" in a.http.get("/en/articles/refund-policy").text, VISIBLE_WITHIN)
