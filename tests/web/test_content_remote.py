"""Content from a git remote (KB_CONTENT_REMOTE): a node's content folder is a clone, a web save
is a commit pushed there (rebased when the remote moved, refused with the diff when someone
changed the same article), pushes from laptops show up on the node by themselves, and a folder
that cannot follow the remote is refused with a clear message. Real git, bare remotes in tmp_path.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kb.config import load_settings
from kb.content.remote import ContentRemote, git
from kb.errors import ConfigError
from tests.admin_support import form_fields, open_form, signed_in, soup
from tests.conftest import ContentTree, MakeClient

BRANCH = "main"
ARTICLE = "en/billing/refund-policy.md"
EDIT_URL = "/admin/articles/en/refund-policy"


def commit_all(root: Path, message: str, author: str = "Lee Laptop <lee@example.com>") -> None:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--author", author, "-m", message)


def make_remote(tmp_path: Path, tree: ContentTree) -> Path:
    """A bare repository holding the tree's articles as its first commit on `main`."""
    tree.add("en", "refund-policy", id=1, title="Refund policy", body="## Policy\n\nWe refund within 30 days.\n")
    tree.add("en", "account-basics", id=2, title="Account basics", category="accounts",
             body="## Basics\n\nAn account has one owner.\n")
    git(tree.root, "init", "--quiet", "-b", BRANCH)
    commit_all(tree.root, "first articles")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(tree.root), str(remote))
    return remote


@pytest.fixture
def remote(tmp_path: Path, tree: ContentTree) -> Path:
    return make_remote(tmp_path, tree)


@pytest.fixture
def laptop(tmp_path: Path, remote: Path) -> Path:
    """Another clone of the remote: an editor working in git on a laptop (docs-as-code)."""
    git(tmp_path, "clone", "--quiet", str(remote), str(tmp_path / "laptop"))
    return tmp_path / "laptop"


def push_from(clone: Path, relative: str, change: Callable[[str], str], message: str) -> None:
    git(clone, "pull", "--quiet", "--ff-only")
    path = clone / relative
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    commit_all(clone, message)
    git(clone, "push", "--quiet", "origin", BRANCH)


def on_remote(remote: Path, relative: str) -> str:
    return git(remote, "show", f"{BRANCH}:{relative}").stdout


def remote_log(remote: Path, count: int = 5) -> list[str]:
    return git(remote, "log", f"-{count}", "--format=%an <%ae>|%s", BRANCH).stdout.splitlines()


def node(make_client: MakeClient, tmp_path: Path, remote: Path, poll: float = 3600.0) -> TestClient:
    """A node whose clone is tmp_path/node (poll: how often it fetches; by default never in a test)."""
    return make_client(tmp_path / "node", content_remote=str(remote), content_poll_seconds=poll)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def save(client: TestClient, form: dict[str, str], action: str = "publish", **changes: str) -> object:
    return client.post(EDIT_URL, data={**form, **changes, "action": action})


# --- the clone ----------------------------------------------------------------------------------


def test_a_node_starts_from_a_clone_of_the_remote(make_client: MakeClient, tmp_path: Path, remote: Path) -> None:
    client = node(make_client, tmp_path, remote)
    clone = tmp_path / "node"
    assert git(clone, "remote", "get-url", "origin").stdout.strip() == str(remote)
    assert git(clone, "rev-parse", "HEAD").stdout == git(remote, "rev-parse", BRANCH).stdout
    page = client.get("/en/articles/refund-policy")
    assert page.status_code == 200 and "We refund within 30 days." in page.text


def test_a_restarted_node_catches_up_with_what_was_pushed_while_it_was_down(
        make_client: MakeClient, tmp_path: Path, remote: Path, laptop: Path) -> None:
    first = node(make_client, tmp_path, remote)
    first.__exit__(None, None, None)
    push_from(laptop, ARTICLE, lambda t: t.replace("30 days", "45 days"), "longer refunds")
    again = node(make_client, tmp_path, remote)
    assert "We refund within 45 days." in again.get("/en/articles/refund-policy").text


# --- saves are commits --------------------------------------------------------------------------


def test_an_editor_save_is_a_commit_on_the_remote_by_the_editor_with_the_save_message(
        make_client: MakeClient, tmp_path: Path, remote: Path) -> None:
    client = signed_in(node(make_client, tmp_path, remote), "dana", "editor")
    form = open_form(client, EDIT_URL)
    body = "## Policy\n\nWe refund within 60 days.\n"
    response = save(client, form, body=body, message="Refunds: 60 days now")
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert remote_log(remote)[0] == "dana <dana@users.kb.invalid>|Refunds: 60 days now"
    assert on_remote(remote, ARTICLE).endswith(body)
    assert "within 60 days" in client.get("/en/articles/refund-policy").text
    # unpublishing is a save too: a commit of the file with `status: draft`
    form = open_form(client, EDIT_URL)
    response = client.post(EDIT_URL + "/unpublish", data={"csrf_token": form["csrf_token"],
                                                          "base_revision": form["base_revision"]})
    assert response.status_code == 303, response.text
    assert remote_log(remote)[0] == "dana <dana@users.kb.invalid>|Unpublish en/refund-policy"
    assert "status: draft" in on_remote(remote, ARTICLE)
    node_clone = tmp_path / "node"
    assert git(node_clone, "status", "--porcelain").stdout == ""


def test_a_push_to_another_article_meanwhile_is_rebased_and_both_land(
        make_client: MakeClient, tmp_path: Path, remote: Path, laptop: Path) -> None:
    client = signed_in(node(make_client, tmp_path, remote), "dana", "editor")
    form = open_form(client, EDIT_URL)
    push_from(laptop, "en/accounts/account-basics.md", lambda t: t.replace("one owner", "two owners"),
              "accounts may have two owners")
    response = save(client, form, body="## Policy\n\nWe refund within 60 days.\n", message="60 days")
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert remote_log(remote)[:2] == ["dana <dana@users.kb.invalid>|60 days",
                                      "Lee Laptop <lee@example.com>|accounts may have two owners"]
    assert "60 days" in on_remote(remote, ARTICLE)
    assert "two owners" in on_remote(remote, "en/accounts/account-basics.md")
    # the node has the laptop's change too, and serves it
    assert "two owners" in client.get("/en/articles/account-basics").text


def test_a_push_to_the_same_article_meanwhile_gives_the_conflict_page_and_loses_nothing(
        make_client: MakeClient, tmp_path: Path, remote: Path, laptop: Path) -> None:
    client = signed_in(node(make_client, tmp_path, remote), "dana", "editor")
    form = open_form(client, EDIT_URL)
    push_from(laptop, ARTICLE, lambda t: t.replace("We refund within 30 days.", "Changed on a laptop."),
              "laptop wording")
    pushed = git(remote, "rev-parse", BRANCH).stdout
    response = save(client, form, body="My edit.\n", message="mine")
    assert response.status_code == 409  # type: ignore[attr-defined]
    conflict = soup(response).select_one("section.conflict")
    assert "changed on disk" in conflict.get_text()
    assert "-Changed on a laptop." in [d.get_text() for d in conflict.select("del")]
    assert "+My edit." in [i.get_text() for i in conflict.select("ins")]
    assert git(remote, "rev-parse", BRANCH).stdout == pushed  # the remote lost nothing
    clone = tmp_path / "node"
    assert git(clone, "rev-parse", "HEAD").stdout == pushed and git(clone, "status", "--porcelain").stdout == ""
    assert "Changed on a laptop." in (clone / ARTICLE).read_text()
    # the returned form now knows the remote's version: saving it again is deliberate, and lands
    again = form_fields(response.text)  # type: ignore[attr-defined]
    assert save(client, again, message="mine, after reading the diff").status_code == 303  # type: ignore[attr-defined]
    assert on_remote(remote, ARTICLE).endswith("My edit.\n")
    assert remote_log(remote)[0] == "dana <dana@users.kb.invalid>|mine, after reading the diff"


def test_a_new_article_from_the_web_is_a_new_file_on_the_remote(
        make_client: MakeClient, tmp_path: Path, remote: Path) -> None:
    client = signed_in(node(make_client, tmp_path, remote), "dana", "editor")
    form = open_form(client, "/admin/articles/new")
    form.update(lang="en", slug="", title="How do invoices work?", summary="Invoices, monthly.",
                category="billing", type="faq", updated="2026-02-01", body="## Answer\n\nMonthly.\n",
                message="new: invoices")
    response = client.post("/admin/articles/new", data={**form, "action": "publish"})
    assert response.status_code == 303, response.text
    assert "Monthly." in on_remote(remote, "en/billing/how-do-invoices-work.md")
    assert remote_log(remote)[0] == "dana <dana@users.kb.invalid>|new: invoices"


# --- following the remote -------------------------------------------------------------------------


def test_a_laptop_push_shows_up_on_the_node_page_and_search_within_the_poll_interval(
        make_client: MakeClient, tmp_path: Path, remote: Path, laptop: Path) -> None:
    client = node(make_client, tmp_path, remote, poll=0.2)
    article = laptop / "en" / "billing" / "chargebacks.md"
    article.write_text("---\nid: 7\ntitle: Chargebacks explained\nsummary: What a chargeback is.\n"
                       "category: billing\ntype: faq\nstatus: published\nupdated: 2026-02-02\n---\n"
                       "## Answer\n\nA chargeback reverses a card payment.\n", encoding="utf-8")
    commit_all(laptop, "chargebacks")
    git(laptop, "push", "--quiet", "origin", BRANCH)
    wait_until(lambda: client.get("/en/articles/chargebacks").status_code == 200)
    wait_until(lambda: "Chargebacks explained" in client.get("/en/search", params={"q": "chargeback"}).text)


# --- refusals ---------------------------------------------------------------------------------------


def test_a_clone_of_another_repository_is_refused(tmp_path: Path, remote: Path) -> None:
    other = tmp_path / "other.git"
    git(tmp_path, "init", "--quiet", "--bare", str(other))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    with pytest.raises(ConfigError, match=rf"is a clone of {remote}, not of KB_CONTENT_REMOTE {other}"):
        ContentRemote(clone, str(other)).prepare()


def test_a_clone_with_uncommitted_changes_is_refused_and_keeps_them(tmp_path: Path, remote: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    (clone / ARTICLE).write_text("work in progress\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"has uncommitted changes .*\({ARTICLE}\): commit and push them"):
        ContentRemote(clone, str(remote)).prepare()
    assert (clone / ARTICLE).read_text() == "work in progress\n"


def test_a_plain_folder_with_files_is_refused(tmp_path: Path, remote: Path) -> None:
    folder = ContentTree(tmp_path / "plain").root
    with pytest.raises(ConfigError, match="holds files but is not a git clone of KB_CONTENT_REMOTE"):
        ContentRemote(folder, str(remote)).prepare()


def test_an_unreachable_remote_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KB_CONTENT_REMOTE: cannot clone .*missing.git"):
        ContentRemote(tmp_path / "clone", str(tmp_path / "missing.git")).prepare()


def test_kb_serve_says_why_it_refuses_a_content_folder(tmp_path: Path, remote: Path) -> None:
    folder = ContentTree(tmp_path / "plain").root
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", "serve", "--content-dir", str(folder), "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60, env={"KB_CONTENT_REMOTE": str(remote), "PATH": "/usr/bin:/bin"},
        check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"kb: error: KB_CONTENT_DIR {folder} holds files but is not a git clone")


def test_without_a_remote_the_content_folder_stays_a_plain_folder(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "refund-policy", id=1, title="Refund policy")
    client = signed_in(make_client(tree.root), "dana", "editor")
    assert load_settings({}, environ={}).content_remote == ""
    form = open_form(client, EDIT_URL)
    assert save(client, form, body="Plain.\n").status_code == 303  # type: ignore[attr-defined]
    assert not (tree.root / ".git").exists()


def test_a_synonyms_save_is_a_commit_on_the_remote_too(make_client: MakeClient, tmp_path: Path, remote: Path) -> None:
    client = signed_in(node(make_client, tmp_path, remote), "dana", "editor")
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    fields.update(action="save", text="equivalent:\n  - [refund, money back]\n")
    response = client.post("/admin/synonyms", data=fields)
    assert response.status_code == 303, response.text
    assert remote_log(remote)[0] == "dana <dana@users.kb.invalid>|Synonyms (en)"
    assert "money back" in on_remote(remote, "synonyms.yaml")
    assert git(tmp_path / "node", "status", "--porcelain").stdout == ""
