"""Content health through the real app: each flag appears after what causes it (a source edit,
a policy change, votes, a broken link, time) and disappears after what answers it (a revision,
"mark reviewed", votes, a fixed link); the page, the badges, the editor, the API and the feed."""

from __future__ import annotations

import json
import shutil
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from starlette.testclient import TestClient

from kb.auth import NAME_RE
from kb.cli.health import FLAG_NAMES
from kb.cli.main import main
from kb.content.model import OWNER_RE
from kb.health.model import FLAGS
from kb.storage.db import run_with_database
from kb.tokens import Tokens
from tests.admin_support import call, csrf, open_form, signed_in, soup
from tests.conftest import (
    DIALECTS,
    SAMPLE_CONTENT,
    ContentTree,
    MakeClient,
    database_for,
    services_of,
)

# The SQL these tests exercise runs on SQLite and on PostgreSQL.
database_url = pytest.fixture(params=DIALECTS)(database_for)

ATOM = "{http://www.w3.org/2005/Atom}"
TODAY = datetime.now(UTC).date().isoformat()
REFUND = "See [how to sign in](../accounts/sign-in.md). You commit for {{ premium.commitment.months }}.\n"


@pytest.fixture
def app(make_client: MakeClient, tree: ContentTree) -> TestClient:
    shutil.copy(SAMPLE_CONTENT / "policy.yaml", tree.root / "policy.yaml")
    tree.add("en", "refund", id=1, title="Refunds", body=REFUND, updated=TODAY, owner="ana")
    tree.add("pt", "reembolso", id=1, title="Reembolsos", body="Reembolsos em cinco dias.\n", updated=TODAY)
    tree.add("en", "sign-in", id=2, title="Sign in", category="accounts", updated=TODAY)
    tree.add("en", "old-news", id=3, title="Old news", updated="2020-01-01")
    client = make_client(tree.root, vote_rate_limit=1000)
    return signed_in(client, "ed", "editor")


def token_of(client: TestClient) -> str:
    return str(run_with_database(services_of(client).settings.database, lambda db: Tokens(db).create("ci")))


# An API token per app, created on first use. Keyed weakly by the client object itself: an
# id() would be reused by the next test's client once this one is collected.
TOKENS: weakref.WeakKeyDictionary[TestClient, str] = weakref.WeakKeyDictionary()


def flags(client: TestClient, lang: str, slug: str) -> dict[str, dict[str, Any]]:
    """The article's flags as /api/v1/health gives them (one token per app)."""
    if client not in TOKENS:
        TOKENS[client] = token_of(client)
    token = TOKENS[client]
    response = client.get("/api/v1/health", params={"lang": lang}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows = {row["slug"]: row for row in response.json()["results"]}
    return {f["flag"]: f for f in rows[slug]["flags"]} if slug in rows else {}


def publish(client: TestClient, lang: str, slug: str, body: str) -> None:
    url = f"/admin/articles/{lang}/{slug}"
    form = open_form(client, url)
    response = client.post(url, data={**form, "body": body, "action": "publish"})
    assert response.status_code == 303, response.text


def mark_reviewed(client: TestClient, lang: str, slug: str, note: str = "") -> Any:
    page = client.get(f"/admin/articles/{lang}/{slug}")
    return client.post(f"/admin/health/{lang}/{slug}/reviewed", data={"csrf_token": csrf(page.text), "note": note})


def vote(client: TestClient, slug: str, helpful: bool, reason: str | None = None) -> None:
    """One vote from a new visitor (the admin session is kept)."""
    session = client.cookies.get("kb_session")
    client.cookies.clear()
    body: dict[str, Any] = {"helpful": helpful}
    if reason:
        body["reason"] = reason
    response = client.post(f"/api/v1/articles/en/{slug}/votes", json=body)
    assert response.status_code == 201, response.text
    client.cookies.clear()
    if session:
        client.cookies.set("kb_session", session)


def test_a_translation_falls_behind_when_its_source_changes_and_catches_up_when_revised(app: TestClient) -> None:
    assert "translation_behind" not in flags(app, "pt", "reembolso")
    publish(app, "en", "refund", REFUND + "\nRefunds now take three days.\n")
    behind = flags(app, "pt", "reembolso")["translation_behind"]
    assert behind["reason"].startswith(f"The en version changed on {TODAY}")
    assert behind["link"].startswith("/admin/history/en/1")  # the source's changes
    assert "translation_behind" not in flags(app, "en", "refund")  # a source is never behind itself
    publish(app, "pt", "reembolso", "Reembolsos em três dias.\n")
    assert "translation_behind" not in flags(app, "pt", "reembolso")


def test_a_policy_change_flags_the_articles_showing_the_key_until_marked_reviewed(app: TestClient, tree: ContentTree) -> None:
    assert "policy_changed" not in flags(app, "en", "refund")
    policy = tree.root / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("    months: 6\n", "    months: 12\n", 1),
                      encoding="utf-8")
    assert call(app, services_of(app).policy.check_file) is True
    changed = flags(app, "en", "refund")["policy_changed"]
    assert changed["reason"] == "Policy values it shows changed: premium.commitment.months."
    assert "policy_changed" not in flags(app, "en", "sign-in")  # shows no policy value
    response = mark_reviewed(app, "en", "refund", "12 months reads fine")
    assert response.status_code == 303 and response.headers["location"].endswith("?done=reviewed")
    assert "policy_changed" not in flags(app, "en", "refund")
    history = app.get("/admin/history/en/1")
    assert "Marked reviewed" in history.text and "12 months reads fine" in history.text


def test_helpfulness_fell_after_ten_no_votes_and_recovers_with_yes_votes(app: TestClient) -> None:
    for _ in range(9):
        vote(app, "sign-in", False)
    assert "helpfulness_fell" not in flags(app, "en", "sign-in")  # 9 votes say too little
    vote(app, "sign-in", False)
    fell = flags(app, "en", "sign-in")["helpfulness_fell"]
    assert "Wilson lower bound of 10 votes" in fell["reason"]
    assert fell["link"] == "/admin/analytics/articles/2?lang=en"
    for _ in range(35):
        vote(app, "sign-in", True)
    assert "helpfulness_fell" not in flags(app, "en", "sign-in")  # 35 of 45: bound over 60%


def test_three_incorrect_reports_flag_an_article_until_it_is_revised(app: TestClient) -> None:
    vote(app, "sign-in", False, "incorrect")
    vote(app, "sign-in", False, "incorrect")
    vote(app, "sign-in", False, "hard_to_understand")
    assert "reported_incorrect" not in flags(app, "en", "sign-in")
    vote(app, "sign-in", False, "incorrect")
    reported = flags(app, "en", "sign-in")["reported_incorrect"]
    assert reported["reason"].startswith("3 readers said it is incorrect")
    publish(app, "en", "sign-in", "Sign in with your new code.\n")
    assert "reported_incorrect" not in flags(app, "en", "sign-in")


def test_a_broken_link_is_flagged_as_kb_check_reports_it_and_cleared_when_fixed(app: TestClient, tree: ContentTree) -> None:
    site = services_of(app).site
    assert "broken_links" not in flags(app, "en", "refund")
    target = tree.root / "en" / "accounts" / "sign-in.md"
    kept = target.read_text(encoding="utf-8")
    target.unlink()
    site.load()
    broken = flags(app, "en", "refund")["broken_links"]
    assert broken["reason"] == "1 broken link; line 12: link to a missing article or file: ../accounts/sign-in.md"
    reported = [p for p in site.check() if p.path.endswith("refund.md")]  # what kb check says
    assert [(p.line, p.message) for p in reported] == [(12, "link to a missing article or file: ../accounts/sign-in.md")]
    target.write_text(kept, encoding="utf-8")
    site.load()
    assert "broken_links" not in flags(app, "en", "refund")


def test_an_article_not_revised_for_review_days_is_flagged_until_marked_reviewed(app: TestClient) -> None:
    stale = flags(app, "en", "old-news")["not_reviewed"]
    assert stale["reason"] == "Not revised or marked reviewed since 2020-01-01."
    assert stale["since"].startswith("2020-12-31")  # 365 days later (KB_REVIEW_DAYS)
    assert "not_reviewed" not in flags(app, "en", "refund")
    assert mark_reviewed(app, "en", "old-news").status_code == 303
    assert flags(app, "en", "old-news") == {}


def test_review_days_is_a_setting(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "old-news", id=3, title="Old news", updated="2020-01-01")
    client = make_client(tree.root, review_days=100_000)
    assert flags(client, "en", "old-news") == {}


def test_the_health_page_counts_flags_and_filters_by_flag_language_category_and_owner(app: TestClient) -> None:
    publish(app, "en", "refund", REFUND + "\nChanged.\n")
    page = soup(app.get("/admin/health"))
    counts = {d["data-flag"]: d.select_one(".figure-value").get_text() for d in page.select(".figure")}
    assert counts["translation_behind"] == "1" and counts["not_reviewed"] == "1"
    rows = {(r["data-lang"], r["data-slug"]) for r in page.select("tbody tr")}
    assert rows == {("pt", "reembolso"), ("en", "old-news")}
    assert page.select_one("tr[data-slug=reembolso] a")["href"] == "/admin/articles/pt/reembolso"

    def slugs(**params: str) -> set[str]:
        response = app.get("/admin/health", params=params)
        assert response.status_code == 200, response.text
        return {r["data-slug"] for r in soup(response).select("tbody tr")}

    assert slugs(flag="not_reviewed") == {"old-news"}
    assert slugs(lang="pt") == {"reembolso"}
    assert slugs(category="accounts") == set()
    assert slugs(category="billing") == {"reembolso", "old-news"}
    assert slugs(owner="nobody") == set()
    assert app.get("/admin/health", params={"flag": "bogus"}).status_code == 400
    assert app.get("/admin/health", params={"category": "bogus"}).status_code == 400


def test_owner_filter_and_the_owner_field_is_checked(app: TestClient, tree: ContentTree) -> None:
    tree.add("en", "owned", id=9, title="Owned", updated="2020-01-01", owner="ana")
    site = services_of(app).site
    site.load()
    assert {r["data-slug"] for r in soup(app.get("/admin/health?owner=ana")).select("tbody tr")} == {"owned"}
    tree.add("en", "bad-owner", id=10, title="Bad owner", owner="not an account!")
    site.load()
    assert any(p.message.startswith("owner must be an account name") for p in site.content.problems)


def test_the_article_list_shows_a_badge_per_flag_and_the_editor_the_flags(app: TestClient) -> None:
    listing = soup(app.get("/admin/articles"))
    badge = listing.select_one("tr[data-slug=old-news] a.badge[data-flag=not_reviewed]")
    assert badge is not None and badge.get_text() == "Not reviewed"
    assert listing.select_one("tr[data-slug=refund] a.badge") is None
    editor = soup(app.get("/admin/articles/en/old-news"))
    assert editor.select_one(".health-panel li[data-flag=not_reviewed]") is not None
    assert editor.select_one("form.mark-reviewed button").get_text() == "Mark reviewed"


def test_mark_reviewed_needs_an_editor_and_a_csrf_token(app: TestClient) -> None:
    assert app.post("/admin/health/en/old-news/reviewed", data={"csrf_token": "x"}).status_code == 403
    app.cookies.clear()
    assert app.post("/admin/health/en/old-news/reviewed", data={}).status_code in (303, 401)
    signed_in(app, "reader", "analyst")
    assert app.get("/admin/health").status_code == 403


def test_the_api_needs_a_token_and_checks_its_filters(app: TestClient) -> None:
    assert app.get("/api/v1/health").status_code == 401
    headers = {"Authorization": f"Bearer {token_of(app)}"}
    body = app.get("/api/v1/health", headers=headers).json()
    assert body["counts"]["not_reviewed"] == 1 and body["total"] == 1
    assert body["results"][0]["flags"][0]["since"].startswith("2020-12-31")
    assert app.get("/api/v1/health", params={"flag": "nope"}, headers=headers).status_code == 400
    assert app.get("/api/v1/health", params={"lang": ""}, headers=headers).status_code == 400
    only = app.get("/api/v1/health", params={"flag": "broken_links"}, headers=headers).json()
    assert only["total"] == 0


def test_the_atom_feed_lists_new_flags_with_a_token_in_its_url(app: TestClient) -> None:
    assert app.get("/admin/health/feed.xml").status_code == 401
    assert app.get("/admin/health/feed.xml?token=kb_wrong").status_code == 401
    response = app.get(f"/admin/health/feed.xml?token={token_of(app)}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Not reviewed: Old news (en)"]
    assert entries[0].findtext(f"{ATOM}updated") == "2020-12-31T00:00:00Z"
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith("/admin/articles/en/old-news")


def test_an_outside_edit_of_the_source_with_a_new_date_puts_the_translation_behind(app: TestClient, tree: ContentTree) -> None:
    path: Path = tree.add("en", "refund", id=1, title="Refunds", body=REFUND + "More.\n", updated="2026-12-31", owner="ana")
    assert path.exists()
    services_of(app).site.load()
    assert "translation_behind" in flags(app, "pt", "reembolso")


def test_kb_health_prints_the_list_and_fails_when_any_flag_matches(tree: ContentTree, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    tree.add("en", "old-news", id=3, title="Old news", updated="2020-01-01")
    tree.add("en", "fresh", id=4, title="Fresh", updated=TODAY)
    common = ["--content-dir", str(tree.root), "--data-dir", str(tmp_path / "data")]
    assert main(["health", *common]) == 1
    out = capsys.readouterr().out
    assert out == (f"{tree.root / 'en' / 'billing' / 'old-news.md'}: not_reviewed (since 2020-12-31): "
                   "Not revised or marked reviewed since 2020-01-01.\n")
    assert main(["health", *common, "--format", "json", "--lang", "en"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["counts"]["not_reviewed"] == 1 and [r["slug"] for r in body["results"]] == ["old-news"]
    assert main(["health", *common, "--flag", "broken_links", "--flag", "policy_changed"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["health", *common, "--lang", "xx"]) == 2


def test_the_cli_knows_every_flag() -> None:
    assert FLAG_NAMES == FLAGS


def test_an_owner_is_written_like_an_account_name() -> None:
    assert OWNER_RE.pattern == NAME_RE.pattern  # the content layer cannot import kb.auth
