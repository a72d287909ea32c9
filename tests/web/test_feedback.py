""""Was this article helpful?": the form without JavaScript, the JSON API, storage, rankings."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from starlette.testclient import TestClient

from kb.errors import TooManyRequests, ValidationFailed
from kb.feedback import Feedback, clean_text, parse_vote, wilson_lower_bound
from kb.ratelimit import RateLimiter
from tests.conftest import DIALECTS, ContentTree, MakeClient, database_for, services_of

# The SQL these tests exercise runs on SQLite and on PostgreSQL.
database_url = pytest.fixture(params=DIALECTS)(database_for)

ARTICLE = "/en/articles/support-code-and-vip-code"
VOTES = "/api/v1/articles/en/support-code-and-vip-code/votes"


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def region(page: BeautifulSoup, article_id: int = 3) -> Tag:
    found = page.select_one(f"section.feedback#feedback-{article_id}")
    assert found is not None
    return found


def csrf(client: TestClient) -> str:
    return str(region(soup(client.get(ARTICLE))).select_one("input[name=csrf_token]")["value"])


def rows(client: TestClient) -> list[Any]:
    """The stored votes, read through the app's own database (SQLite or PostgreSQL)."""
    return list(client.portal.call(services_of(client).db.fetch_all, "SELECT * FROM votes ORDER BY id"))


# --- the JSON API ------------------------------------------------------------------------------


def test_a_first_vote_is_created_and_voting_again_changes_it(client: TestClient, tmp_path: Path) -> None:
    first = client.post(VOTES, json={"helpful": True})
    assert first.status_code == 201
    body = first.json()
    assert body["created"] is True
    assert (body["yes"], body["no"], body["total"]) == (1, 0, 1)
    assert body["vote"]["helpful"] is True and body["vote"]["reason"] is None
    second = client.post(VOTES, json={"helpful": False, "reason": "incorrect", "comment": "Outdated menu names."})
    assert second.status_code == 200
    body = second.json()
    assert body["created"] is False
    assert (body["yes"], body["no"], body["total"]) == (0, 1, 1)
    assert body["vote"] | {"created_at": None, "updated_at": None, "revision": None} == {
        "helpful": False, "reason": "incorrect", "comment": "Outdated menu names.",
        "created_at": None, "updated_at": None, "revision": None}
    stored = rows(client)
    assert len(stored) == 1  # one vote per visitor per article
    assert stored[0]["helpful"] == 0 and stored[0]["changes"] == 1
    assert stored[0]["updated_at"] >= stored[0]["created_at"]


def test_each_visitor_has_one_vote_and_get_returns_tallies_and_own_vote(make_client: MakeClient, sample_tree: Path, tmp_path: Path) -> None:
    client = make_client(sample_tree)
    assert client.post(VOTES, json={"helpful": True}).status_code == 201
    client.cookies.clear()  # another browser
    assert client.post(VOTES, json={"helpful": True}).status_code == 201
    client.cookies.clear()
    assert client.post(VOTES, json={"helpful": False}).status_code == 201
    response = client.get(VOTES)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["yes"], body["no"], body["total"]) == (2, 1, 3)
    assert body["vote"]["helpful"] is False  # this browser's own vote
    client.cookies.clear()
    assert client.get(VOTES).json()["vote"] is None
    # the same article in another language is counted apart
    assert client.get("/api/v1/articles/fr/code-support-et-code-vip/votes").json()["total"] == 0


def test_the_vote_row_keeps_the_revision_and_only_a_hash_of_the_visitor(client: TestClient, tmp_path: Path) -> None:
    client.post(VOTES, json={"helpful": True})
    (row,) = rows(client)
    article = client.app.state.kb.site.article("en", "support-code-and-vip-code")
    assert row["revision"] == article.revision
    assert (row["article_id"], row["lang"], row["slug"]) == (3, "en", "support-code-and-vip-code")
    cookie = client.cookies["kb_visitor"]
    raw_id = cookie.split(".")[0]
    assert raw_id not in row["visitor"] and len(row["visitor"]) == 32
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["created_at"])


def test_unknown_articles_are_404(client: TestClient) -> None:
    for path in ("/api/v1/articles/en/nope/votes", "/api/v1/articles/xx/support-code-and-vip-code/votes"):
        assert client.post(path, json={"helpful": True}).status_code == 404
        assert client.get(path).json() == {"error": "article not found"}


def test_a_body_that_is_not_json_is_415(client: TestClient, tmp_path: Path) -> None:
    assert client.post(VOTES, data={"helpful": "true"}).status_code == 415
    assert client.post(VOTES, content=b'{"helpful": true}', headers={"Content-Type": "text/plain"}).status_code == 415
    response = client.post(VOTES, content=b'{"helpful": true}')
    assert response.status_code == 415 and "application/json" in response.json()["error"]
    charset = client.post(VOTES, content=b'{"helpful": true}', headers={"Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 201
    json_type = {"Content-Type": "application/json"}
    for body in (b"{not json", b"[" * 60_000):  # the second nests too deep for the parser
        bad = client.post(VOTES, content=body, headers=json_type)
        assert bad.status_code == 400 and bad.json() == {"error": "the body is not valid JSON"}
    huge = b'{"helpful": false, "comment": "' + b"x" * 70_000 + b'"}'
    too_big = client.post(VOTES, content=huge, headers=json_type)
    assert too_big.status_code == 413 and too_big.json() == {"error": "the body must be at most 65536 bytes"}
    assert len(rows(client)) == 1


BAD_BODIES = [
    ({}, "helpful", "required"),
    ({"helpful": "yes"}, "helpful", "true or false"),
    ({"helpful": 1}, "helpful", "true or false"),
    ({"helpful": None}, "helpful", "true or false"),
    ({"helpful": False, "reason": "boring"}, "reason", "must be one of"),
    ({"helpful": False, "reason": 3}, "reason", "must be one of"),
    ({"helpful": True, "reason": "incorrect"}, "reason", "unhelpful"),
    ({"helpful": False, "comment": 42}, "comment", "string"),
    ({"helpful": False, "comment": "é" * 2001}, "comment", "at most 2000 characters (got 2001)"),
    ({"helpful": True, "comment": "Great"}, "comment", "unhelpful"),
    ({"helpful": True, "stars": 5}, "stars", "unknown field"),
    ([True], "body", "object"),
    ("yes", "body", "object"),
]


def test_bad_bodies_are_422_with_a_message_per_field(client: TestClient, tmp_path: Path) -> None:
    for body, field, message in BAD_BODIES:
        response = client.post(VOTES, json=body)
        assert response.status_code == 422, body
        assert message in response.json()["details"][field], body
    assert rows(client) == []


def test_a_comment_of_exactly_2000_characters_is_accepted(client: TestClient) -> None:
    comment = "é" * 2000
    response = client.post(VOTES, json={"helpful": False, "reason": "other", "comment": comment})
    assert response.status_code == 201 and response.json()["vote"]["comment"] == comment


def test_comments_are_stored_as_plain_text_without_control_characters(client: TestClient, tmp_path: Path) -> None:
    hostile = "  Line one\r\nline\x00 two\x07\x1b[31m\u202eevil\ud800\t!  "  # \ud800: a lone surrogate
    response = client.post(VOTES, content=json.dumps({"helpful": False, "comment": hostile}),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert rows(client)[0]["comment"] == "Line one\nline two[31mevil\t!"
    # nothing but whitespace and controls is no comment at all
    client.post(VOTES, json={"helpful": False, "comment": " \x00\n "})
    assert rows(client)[0]["comment"] is None


def test_votes_past_the_rate_limit_are_429_with_retry_after(make_client: MakeClient, sample_tree: Path, tmp_path: Path) -> None:
    client = make_client(sample_tree, vote_rate_limit=3)
    for helpful in (True, False, True):
        assert client.post(VOTES, json={"helpful": helpful}).status_code in (200, 201)
    refused = client.post(VOTES, json={"helpful": False})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many votes" in refused.json()["error"]
    # a new visitor from the same address is limited too (per client address)
    client.cookies.clear()
    assert client.post(VOTES, json={"helpful": True}).status_code == 429
    # the form is limited the same way, with a page in the visitor's language
    token = csrf(client)
    page = client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "yes"})
    assert page.status_code == 429 and page.headers["retry-after"]
    assert [r["helpful"] for r in rows(client)] == [1]


async def test_the_rate_limit_counts_per_visitor_and_per_address(sample_tree: Path) -> None:
    now = [0.0]
    feedback = Feedback(None, None, rate_limit=2, show_counts=False)  # type: ignore[arg-type]
    feedback.limiter = RateLimiter(2, 60, clock=lambda: now[0])
    await feedback.check_rate("visitor-a", "10.0.0.1")
    await feedback.check_rate("visitor-a", "10.0.0.2")
    with pytest.raises(TooManyRequests):  # same visitor, new address
        await feedback.check_rate("visitor-a", "10.0.0.3")
    await feedback.check_rate("visitor-b", "10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:  # new visitor, busy address
        await feedback.check_rate("visitor-c", "10.0.0.1")
    assert refused.value.retry_after == 60
    now[0] = 61.0
    await feedback.check_rate("visitor-a", "10.0.0.1")


def test_openapi_documents_the_votes_api(sample_client: TestClient) -> None:
    document = sample_client.get("/api/v1/openapi.json").json()
    votes = document["paths"]["/api/v1/articles/{lang}/{slug}/votes"]
    assert set(votes) == {"get", "post"}
    assert {"200", "201", "404", "415", "422", "429"} <= set(votes["post"]["responses"])
    schemas = document["components"]["schemas"]
    assert schemas["VoteInput"]["properties"]["comment"]["maxLength"] == 2000
    assert "didnt_answer" in schemas["VoteInput"]["properties"]["reason"]["enum"]


# --- the HTML form (no JavaScript) -------------------------------------------------------------


def test_the_widget_asks_the_question_with_yes_and_no_buttons(sample_client: TestClient) -> None:
    widget = region(soup(sample_client.get(ARTICLE)))
    assert widget.h2.get_text() == "Was this article helpful?"
    form = widget.select_one("form.feedback-vote")
    assert form["method"] == "post" and form["action"] == ARTICLE + "/feedback"
    assert form.select_one("input[name=csrf_token]")["value"]
    buttons = {b.get_text(): b for b in form.select("button[name=helpful]")}
    assert {k: (v["value"], v["aria-pressed"]) for k, v in buttons.items()} == {
        "Yes": ("yes", "false"), "No": ("no", "false")}
    assert widget.select_one("[role=status][aria-live=polite]").get_text() == ""
    assert widget.select_one("form.feedback-details").has_attr("hidden")
    assert widget.select_one(".feedback-count") is None  # counts are off by default


def test_the_question_is_asked_in_the_readers_language(sample_client: TestClient) -> None:
    pt = soup(sample_client.get("/pt/articles/codigo-de-suporte-e-codigo-vip")).select_one("section.feedback h2")
    fr = soup(sample_client.get("/fr/articles/code-support-et-code-vip")).select_one("section.feedback h2")
    assert pt.get_text() == "Este artigo foi útil?"
    assert fr.get_text() == "Cet article vous a-t-il été utile ?"
    buttons = [b.get_text() for b in soup(sample_client.get("/fr/articles/code-support-et-code-vip")).select("section.feedback button[name=helpful]")]
    assert buttons == ["Oui", "Non"]


def test_no_then_reason_and_comment_without_javascript(client: TestClient, tmp_path: Path) -> None:
    token = csrf(client)
    answer = client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "no", "next": ARTICLE})
    assert answer.status_code == 303
    assert answer.headers["location"] == ARTICLE + "#feedback-3"
    widget = region(soup(client.get(ARTICLE)))
    pressed = {b.get_text(): b["aria-pressed"] for b in widget.select("button[name=helpful]")}
    assert pressed == {"Yes": "false", "No": "true"}  # the visitor's current vote
    assert "Can you tell us what went wrong?" in widget.select_one("[role=status]").get_text()
    details = widget.select_one("form.feedback-details")
    assert not details.has_attr("hidden")
    assert [r["value"] for r in details.select("input[name=reason]")] == [
        "didnt_answer", "hard_to_understand", "incorrect", "missing_steps", "other"]
    assert details.select_one("textarea[name=comment]")["maxlength"] == "2000"
    sent = client.post(ARTICLE + "/feedback", data={
        "csrf_token": token, "helpful": "no", "reason": "missing_steps", "comment": "Where is step 3?",
        "next": ARTICLE})
    assert sent.status_code == 303
    widget = region(soup(client.get(ARTICLE)))
    assert widget.select_one("[role=status]").get_text() == "Thank you! Your comments will help us improve this article."
    assert widget.select_one("form.feedback-details").has_attr("hidden")
    assert widget.select_one(".feedback-summary-reason .feedback-value").get_text() == "Steps or information are missing"
    assert widget.select_one(".feedback-summary-comment").get_text() == "Where is step 3?"
    (row,) = rows(client)
    assert (row["helpful"], row["reason"], row["comment"]) == (0, "missing_steps", "Where is step 3?")


def test_yes_thanks_the_reader_and_is_shown_on_return(client: TestClient) -> None:
    token = csrf(client)
    assert client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "yes"}).status_code == 303
    widget = region(soup(client.get(ARTICLE)))
    assert widget.select_one("[role=status]").get_text() == "Thank you for your feedback!"
    assert widget.select_one("button[value=yes]")["aria-pressed"] == "true"
    assert widget.select_one("form.feedback-details").has_attr("hidden")
    client.cookies.clear()  # someone else has not voted
    assert region(soup(client.get(ARTICLE))).select_one("button[value=yes]")["aria-pressed"] == "false"


def test_the_form_is_refused_without_a_valid_csrf_token(client: TestClient, tmp_path: Path) -> None:
    token = csrf(client)
    assert client.post(ARTICLE + "/feedback", data={"helpful": "yes"}).status_code == 403
    assert client.post(ARTICLE + "/feedback", data={"csrf_token": "0" * 40, "helpful": "yes"}).status_code == 403
    other = client.cookies["kb_visitor"]
    client.cookies.clear()  # a token issued to another visitor is no good either
    refused = client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "yes"})
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert client.cookies["kb_visitor"] != other
    assert rows(client) == []


def test_bad_form_answers_are_clear_errors(client: TestClient, tmp_path: Path) -> None:
    token = csrf(client)
    bad = client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "maybe"})
    assert bad.status_code == 422 and "true or false" in bad.text
    bad = client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "no", "reason": "<b>"})
    assert bad.status_code == 422 and "must be one of" in bad.text
    assert client.post("/en/articles/nope/feedback", data={"csrf_token": token, "helpful": "yes"}).status_code == 404
    assert client.get(ARTICLE + "/feedback").status_code == 405
    assert rows(client) == []


def test_the_form_returns_to_the_page_it_came_from_on_this_site_only(make_client: MakeClient, tree: ContentTree) -> None:
    for number in range(1, 4):
        tree.add("en", f"question-{number}", id=number, updated=f"2026-01-0{number}")
    client = make_client(tree.root, page_size=2)
    page = soup(client.get("/en/billing/?page=2"))
    form = page.select_one("#feedback-1 form.feedback-vote")
    # on a category page the answer comes back to this FAQ shown open, on the page holding it
    assert form.select_one("input[name=next]")["value"] == "/en/billing/?open=1"
    token = form.select_one("input[name=csrf_token]")["value"]
    back = client.post("/en/articles/question-1/feedback",
                       data={"csrf_token": token, "helpful": "yes", "next": "/en/billing/?open=1"})
    assert back.headers["location"] == "/en/billing/?open=1#feedback-1"
    returned = soup(client.get("/en/billing/?open=1"))
    assert returned.select_one("#faq-1 details")["open"] == "" and returned.select_one("#feedback-1") is not None
    for elsewhere in ("https://evil.example/", "//evil.example/en/", "/\\evil.example", "javascript:alert(1)"):
        answer = client.post("/en/articles/question-1/feedback",
                             data={"csrf_token": token, "helpful": "yes", "next": elsewhere})
        assert answer.headers["location"] == "/en/articles/question-1#feedback-1", elsewhere


def test_category_pages_show_each_faqs_own_vote(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "first-question", id=1)
    tree.add("en", "second-question", id=2)
    client = make_client(tree.root)
    client.post("/api/v1/articles/en/second-question/votes", json={"helpful": True})
    page = soup(client.get("/en/billing/"))
    assert page.select_one("#feedback-1 button[value=yes]")["aria-pressed"] == "false"
    assert page.select_one("#feedback-2 button[value=yes]")["aria-pressed"] == "true"
    assert len(page.select("article.faq-entry section.feedback")) == 2


def test_hostile_comments_are_always_escaped(client: TestClient) -> None:
    hostile = ('<script>alert("x")</script> <img src=x onerror=alert(1)> '
               '<a href="javascript:alert(1)">click</a> [link](javascript:alert(1)) javascript:alert(2)')
    assert client.post(VOTES, json={"helpful": False, "comment": hostile}).status_code == 201
    html = client.get(ARTICLE).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    widget = region(BeautifulSoup(html, "html.parser"))
    quote = widget.select_one(".feedback-summary-comment")
    assert quote.get_text() == hostile and not quote.find_all(True)  # text, no elements
    assert client.get(VOTES).json()["vote"]["comment"] == hostile  # JSON keeps the text as is


def test_vote_counts_are_shown_only_when_the_setting_is_on(make_client: MakeClient, sample_tree: Path) -> None:
    client = make_client(sample_tree, show_vote_counts=True)
    widget = region(soup(client.get(ARTICLE)))
    assert widget.select_one(".feedback-count").has_attr("hidden")
    for helpful in (True, True, False):
        client.cookies.clear()
        client.post(VOTES, json={"helpful": helpful})
    count = region(soup(client.get(ARTICLE))).select_one(".feedback-count")
    assert not count.has_attr("hidden") and count.get_text() == "2 of 3 found this helpful"
    fr = soup(client.get("/fr/articles/code-support-et-code-vip")).select_one("section.feedback")
    assert fr.select_one(".feedback-count").has_attr("hidden")


# --- rankings and the core -----------------------------------------------------------------------


def test_home_lists_the_most_helpful_articles_by_wilson_lower_bound(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "always-liked", id=1, title="Always liked")
    tree.add("en", "mostly-liked", id=2, title="Mostly liked")
    tree.add("en", "barely-voted", id=3, title="Barely voted")
    tree.add("en", "disliked", id=4, title="Disliked")
    client = make_client(tree.root)

    def votes(slug: str, yes: int, no: int) -> None:
        for helpful in [True] * yes + [False] * no:
            client.cookies.clear()
            assert client.post(f"/api/v1/articles/en/{slug}/votes", json={"helpful": helpful}).status_code == 201

    votes("always-liked", 3, 0)  # 3/3: lower bound 0.44
    votes("mostly-liked", 18, 2)  # 18/20: lower bound 0.70
    votes("barely-voted", 2, 0)  # under the 3-vote minimum
    votes("disliked", 0, 4)
    listed = [a.get_text() for a in soup(client.get("/en/")).select("section[aria-labelledby=helpful-title] li a")]
    assert listed == ["Mostly liked", "Always liked"]


def test_wilson_lower_bound_prefers_more_evidence() -> None:
    assert wilson_lower_bound(0, 0) is None  # no votes: no rate to rank by
    assert wilson_lower_bound(9, 10) > wilson_lower_bound(1, 1)
    assert wilson_lower_bound(90, 100) > wilson_lower_bound(9, 10)
    assert 0 < wilson_lower_bound(5, 10) < 0.5


def test_parse_and_clean_are_strict_about_types() -> None:
    assert parse_vote({"helpful": False, "reason": None, "comment": "  "}).comment is None
    with pytest.raises(ValidationFailed) as failed:
        parse_vote({"helpful": "no", "reason": "x", "comment": [], "extra": 1})
    assert set(failed.value.details) == {"helpful", "reason", "comment", "extra"}
    assert clean_text("a\u2066b\u2069c\x7f") == "abc"


@pytest.mark.parametrize("database_url", [None])  # the file itself, beside the app
def test_tallies_stay_exact_through_changes_and_deletions(client: TestClient, tmp_path: Path) -> None:
    for helpful in (True, False, True):
        client.cookies.clear()
        client.post(VOTES, json={"helpful": helpful})
    client.post(VOTES, json={"helpful": False})  # the last visitor changes their mind
    database = tmp_path / "data" / "kb.sqlite3"
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT yes, no FROM vote_tallies WHERE article_id = 3 AND lang = 'en'").fetchone() == (1, 2)
        conn.execute("DELETE FROM votes WHERE helpful = 0")
        assert conn.execute("SELECT yes, no FROM vote_tallies WHERE article_id = 3 AND lang = 'en'").fetchone() == (1, 0)
        with pytest.raises(sqlite3.IntegrityError):  # one vote per visitor, whatever the code does
            row = conn.execute("SELECT article_id, lang, slug, visitor, revision FROM votes").fetchone()
            conn.execute("INSERT INTO votes (article_id, lang, slug, visitor, helpful, revision) VALUES (?, ?, ?, ?, 1, ?)", row)
