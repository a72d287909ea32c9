"""Issue 13: synonym candidates on the analytics search report, accepted into synonyms.yaml or
dismissed, through the real app (sample content, SQLite and PostgreSQL, Whoosh index, the editor's file write).

A reader searches "chargeback" (nothing found), then "refund" and opens a result: the search
report lists chargeback → refund; accepting it makes "chargeback" find that article.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from tests.admin_support import add_user, csrf, login, signed_in, soup
from tests.conftest import DIALECTS, database_for

FAILED, WORKED = "chargeback", "refund"
database_url = pytest.fixture(params=DIALECTS)(database_for)  # each test on SQLite and PostgreSQL


def flush(client: TestClient) -> None:
    client.portal.call(client.app.state.kb.db.flush)  # type: ignore[attr-defined]


def result_links(client: TestClient, query: str) -> list[str]:
    page = client.get("/en/search", params={"q": query})
    assert page.status_code == 200
    return [a["href"] for a in BeautifulSoup(page.text, "html.parser").select("ol.results a")]


def reformulate(client: TestClient) -> str:
    """A reader's reformulation; returns the slug of the article they opened."""
    client.get("/en/")  # the visitor cookie
    assert result_links(client, FAILED) == []
    opened = client.get(result_links(client, WORKED)[0])
    assert opened.status_code == 302
    flush(client)
    return urlsplit(opened.headers["location"]).path.rsplit("/", 1)[-1]


def candidate_rows(html: str) -> list[tuple[str, ...]]:
    table = BeautifulSoup(html, "html.parser").select_one("table.candidates-table")
    if table is None:
        return []
    return [tuple(cell.get_text(" ", strip=True) for cell in row.select("th, td")[:4])
            for row in table.select("tbody tr")]


def action_form(html: str, action: str, first: str = FAILED) -> tuple[str, dict[str, str]]:
    """The action and fields of a row's accept or dismiss form, as a browser would post them."""
    page = BeautifulSoup(html, "html.parser")
    for form in page.select("table.candidates-table form"):
        fields = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
        if form["action"].endswith("/" + action) and fields["first"] == first:
            return form["action"], fields
    raise AssertionError(f"no {action} form for {first!r}")


@pytest.fixture
def reader_then_editor(client: TestClient) -> tuple[TestClient, str]:
    slug = reformulate(client)
    return signed_in(client, "edna", "editor"), slug


def test_the_search_report_lists_a_reformulation_with_its_count(client: TestClient) -> None:
    reformulate(client)
    signed_in(client, "ada", "admin")
    page = client.get("/admin/analytics")
    assert page.status_code == 200
    section = soup(page).select_one("#candidates")
    assert section is not None
    assert candidate_rows(str(section)) == [(f"{FAILED} en", WORKED, "1", "1")]
    assert section.select('form[action="/admin/analytics/synonyms/accept"]')  # admins act from the dashboard
    listed = client.get(section.select_one('a[href^="/admin/analytics/synonyms"]')["href"])
    assert candidate_rows(listed.text) == [(f"{FAILED} en", WORKED, "1", "1")]
    # Another language's report does not list it.
    assert candidate_rows(client.get("/admin/analytics/synonyms?lang=fr").text) == []


def test_analysts_read_candidates_editors_act_on_them(client: TestClient) -> None:
    reformulate(client)
    signed_in(client, "ana", "analyst")
    page = client.get("/admin/analytics/synonyms")
    assert page.status_code == 200 and candidate_rows(page.text)
    assert soup(page).select("table.candidates-table form") == []  # nothing to press
    add_user(client, "edna", "editor")
    login(client, "edna")
    assert client.get("/admin/analytics").status_code == 403  # the dashboard stays the analysts'
    page = client.get("/admin/analytics/synonyms")
    assert page.status_code == 200
    assert action_form(page.text, "accept") and action_form(page.text, "dismiss")


def test_accepting_writes_the_group_to_synonyms_yaml_and_the_failed_query_then_finds_the_article(
        reader_then_editor: tuple[TestClient, str], sample_tree: Path) -> None:
    client, slug = reader_then_editor
    path = sample_tree / "synonyms.yaml"
    before = path.read_text(encoding="utf-8")
    url, fields = action_form(client.get("/admin/analytics/synonyms?period=7").text, "accept")
    response = client.post(url, data=fields)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/admin/analytics/synonyms"
    assert parse_qs(target.query) == {"period": ["7"], "done": ["candidate_accepted"]}
    after = path.read_text(encoding="utf-8")
    # "refund" had a group: "chargeback" joins it, the rest of the file byte for byte.
    old_line = "    - [refund, money back, reimbursement, repayment]\n"
    assert old_line in before
    assert after == before.replace(old_line, "    - [refund, money back, reimbursement, repayment, chargeback]\n")
    assert result_links(client, FAILED)[0].startswith(f"/en/search/click?to={slug}&")
    page = client.get(response.headers["location"])
    assert "Added to the synonyms" in soup(page).select_one(".notice").get_text()
    assert candidate_rows(page.text) == []  # synonyms.yaml now says it


def test_a_pair_in_no_group_becomes_a_new_group(client: TestClient, sample_tree: Path) -> None:
    client.get("/en/")
    result_links(client, "customer id")  # results, none opened
    client.get(result_links(client, "support code")[0])
    flush(client)
    signed_in(client, "edna", "editor")
    url, fields = action_form(client.get("/admin/analytics/synonyms").text, "accept", "customer id")
    assert client.post(url, data=fields).status_code == 303
    text = (sample_tree / "synonyms.yaml").read_text(encoding="utf-8")
    en = text[text.index("\nen:"):text.index("\npt:")]
    assert en.split("  one_way:")[0].endswith("    - [customer id, support code]\n")


def test_dismissing_hides_the_candidate_and_leaves_synonyms_yaml_alone(
        reader_then_editor: tuple[TestClient, str], sample_tree: Path) -> None:
    client, _ = reader_then_editor
    before = (sample_tree / "synonyms.yaml").read_text(encoding="utf-8")
    url, fields = action_form(client.get("/admin/analytics/synonyms").text, "dismiss")
    response = client.post(url, data=fields)
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query)["done"] == ["candidate_dismissed"]
    page = client.get(response.headers["location"])
    assert "Candidate dismissed" in soup(page).select_one(".notice").get_text()
    assert candidate_rows(page.text) == []
    assert (sample_tree / "synonyms.yaml").read_text(encoding="utf-8") == before
    assert result_links(client, FAILED) == []
    reformulate(client)  # the same reformulation again: still hidden
    assert candidate_rows(client.get("/admin/analytics/synonyms").text) == []


def test_roles_and_csrf_are_refused_with_clear_messages(reader_then_editor: tuple[TestClient, str],
                                                        sample_tree: Path) -> None:
    client, _ = reader_then_editor
    before = (sample_tree / "synonyms.yaml").read_text(encoding="utf-8")
    url, fields = action_form(client.get("/admin/analytics/synonyms").text, "accept")
    forged = client.post(url, data={**fields, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert "The form has expired or did not come from this site" in forged.text
    missing = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert client.post(url, data=missing).status_code == 403
    add_user(client, "ana", "analyst")
    login(client, "ana")
    refused = client.post(url, data={**fields, "csrf_token": csrf(client.get("/admin/analytics").text)})
    assert refused.status_code == 403
    assert "Your role does not allow this page." in refused.text
    client.cookies.delete("kb_session")
    anonymous = client.post(url, data=fields)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
    assert (sample_tree / "synonyms.yaml").read_text(encoding="utf-8") == before


def test_bad_input_is_a_clear_4xx(reader_then_editor: tuple[TestClient, str]) -> None:
    client, _ = reader_then_editor
    url, fields = action_form(client.get("/admin/analytics/synonyms").text, "accept")
    for changes, status, message in [
        ({"lang": "xx"}, 400, "unknown lang"),
        ({"first": "  "}, 400, "first is required"),
        ({"second": "x" * 101}, 400, "second is longer than 100 characters"),
        ({"second": FAILED.upper()}, 422, "at least two different phrases"),
    ]:
        response = client.post(url, data={**fields, **changes})
        assert response.status_code == status, (changes, response.text)
        assert message in response.text
    assert client.post("/admin/analytics/synonyms/approve", data=fields).status_code == 404
    assert client.get("/admin/analytics/synonyms?period=12").status_code == 400
    # `next` is only ever a local path.
    response = client.post(url.replace("accept", "dismiss"), data={**fields, "next": "https://evil.example/"})
    assert response.headers["location"].startswith("/admin/analytics/synonyms?")


def test_the_analytics_api_lists_the_candidates(client: TestClient) -> None:
    reformulate(client)
    token = client.portal.call(client.app.state.kb.tokens.create, "bi")  # type: ignore[attr-defined]
    response = client.get("/api/v1/analytics/searches", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["synonym_candidates"] == [
        {"lang": "en", "first": FAILED, "second": WORKED, "count": 1, "visitors": 1}]


def test_the_synonyms_editor_links_to_its_languages_candidates(client: TestClient) -> None:
    reformulate(client)
    signed_in(client, "edna", "editor")
    link = soup(client.get("/admin/synonyms?lang=en")).select_one('a[href^="/admin/analytics/synonyms"]')
    assert link is not None and link["href"] == "/admin/analytics/synonyms?lang=en"
    assert candidate_rows(client.get(link["href"]).text) == [(f"{FAILED} en", WORKED, "1", "1")]
