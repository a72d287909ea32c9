"""Two `kb serve` nodes on one git remote (issue 12, the content part of the cluster test): separate
processes, clones, index and data folders; a publish on one shows on the other's page and search
within 5 s, and a commit pushed from a third clone shows on both. The nodes share one PostgreSQL
database (real, the session's throwaway cluster): a push is announced by NOTIFY, and a session
made on one node works on the other."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.content.remote import git
from tests.admin_support import form_fields
from tests.cluster_support import Node, wait_for
from tests.conftest import ContentTree
from tests.web.test_content_remote import BRANCH, commit_all, make_remote

VISIBLE_WITHIN = 5.0  # seconds, the figure


@pytest.fixture
def nodes(tmp_path: Path, tree: ContentTree, pg_url: str) -> Iterator[tuple[Node, Node, Path]]:
    remote = make_remote(tmp_path, tree)
    shared = {"KB_CONTENT_REMOTE": str(remote), "KB_SECRET_KEY": secrets.token_urlsafe(32),
              "KB_CONTENT_POLL_SECONDS": "1", "KB_DATABASE": pg_url}
    with Node(tmp_path, "a", shared) as a, Node(tmp_path, "b", shared) as b:
        yield a, b, remote


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


def test_a_session_made_on_one_node_works_on_the_other(nodes: tuple[Node, Node, Path]) -> None:
    a, b, _ = nodes
    a.sign_in("dana")
    b.http.cookies = a.http.cookies
    assert b.http.get("/admin/articles/en/refund-policy").status_code == 200
