"""Search pages and API under bad input, and the search log the product teams read."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.storage import searchlog
from kb.web.security import visitor_hash
from tests.conftest import ContentTree, MakeClient

ODD_QUERIES = [
    "", "   ", "\t\n", "x" * 10_000, "premium " * 2_000,
    "AND", "OR", "NOT", "premium AND support", "premium OR NOT support", "NOT NOT",
    "*", "?", "~", "^", ":", "(", ")", "[", "]", "{", "}", "* ? ~ ^ : ( ) [ ] { }",
    "supp*", "suport~2", "premium^10", "title:premium", "(premium", "premium)", "[a TO z]", "{a TO z}",
    '"', '""', '"""', '"premium support', 'premium "support', '-', '--', '-"', '-premium', '- -',
    "\x00", "premium\x00support", "\x1b[31mred", "\u202eevil", "\ud7ff", "😀 premium", "\\", "%", "'",
    "<script>alert(1)</script>", "' OR 1=1 --",
]


@pytest.fixture
def shared(sample_client: TestClient) -> TestClient:
    """The session's read-only sample app, for the many cases below (an app per case is slow)."""
    return sample_client


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_no_query_text_breaks_the_api(shared: TestClient, q: str) -> None:
    response = shared.get("/api/v1/search", params={"q": q, "lang": "en"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["total"], int) and len(body["query"]) <= 500
    suggest = shared.get("/api/v1/suggest", params={"q": q, "lang": "en"})
    assert suggest.status_code == 200 and len(suggest.json()["suggestions"]) <= 8


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_no_query_text_breaks_the_results_page(shared: TestClient, q: str) -> None:
    response = shared.get("/en/search", params={"q": q})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_operators_are_plain_words_and_empty_queries_find_nothing(sample_client: TestClient) -> None:
    def total(q: str) -> int:
        return sample_client.get("/api/v1/search", params={"q": q, "lang": "en"}).json()["total"]  # type: ignore[no-any-return]

    assert total("") == 0 and total("   ") == 0 and total("* ? ~ ^ : ( ) [ ] { }") == 0
    assert total("premium AND support") == total("premium support") > 0
    assert total("title:premium") == 0  # the words "title" then "premium", not a field query
    assert total("premium:support") == total('"premium support"') > 0
    html = sample_client.get("/en/search", params={"q": ""}).text
    assert "Type a few words" in html


def test_a_long_query_is_cut_not_refused(sample_client: TestClient) -> None:
    body = sample_client.get("/api/v1/search", params={"q": "support " * 3_000, "lang": "en"}).json()
    assert len(body["query"]) <= 500 and body["total"] > 0


@pytest.mark.parametrize("raw", ["q=%ff%fe", "q=premium%c3%28", "q=%80support", "q=%ed%a0%80"])
def test_invalid_utf8_in_the_url_is_read_as_replacement_characters(shared: TestClient, raw: str) -> None:
    api = shared.get(f"/api/v1/search?lang=en&{raw}")
    assert api.status_code == 200
    assert "\ufffd" in api.json()["query"]  # what could not be read shows as such, not dropped
    page = shared.get(f"/en/search?{raw}")
    assert page.status_code == 200
    assert "\ufffd" in page.text
    assert shared.get(f"/api/v1/suggest?lang=en&{raw}").status_code == 200


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", str(10**9), "10**9", " ", "1e3", "1001"])
def test_bad_page_numbers_are_a_clear_400(shared: TestClient, value: str) -> None:
    response = shared.get("/en/search", params={"q": "support", "page": value})
    assert response.status_code == 400
    assert "page must be" in response.text


@pytest.mark.parametrize(("name", "value"), [
    ("limit", "0"), ("limit", "-1"), ("limit", "abc"), ("limit", str(10**9)), ("limit", "51"),
    ("offset", "-1"), ("offset", "abc"), ("offset", str(10**9)),
    ("lang", "xx"), ("lang", "../.."), ("category", "nope"), ("type", "podcast"),
])
def test_bad_api_parameters_are_a_400_json_error(shared: TestClient, name: str, value: str) -> None:
    response = shared.get("/api/v1/search", params={"q": "support", "lang": "en", name: value})
    assert response.status_code == 400
    assert name.split("_")[0] in response.json()["error"]


def test_bad_filters_on_the_page_are_a_400_page(sample_client: TestClient) -> None:
    for params in ({"category": "nope"}, {"type": "podcast"}):
        response = sample_client.get("/en/search", params={"q": "support", **params})
        assert response.status_code == 400 and "text/html" in response.headers["content-type"]
    assert sample_client.get("/xx/search", params={"q": "support"}).status_code == 404


def test_the_api_searches_the_default_language_when_none_is_given(sample_client: TestClient) -> None:
    body = sample_client.get("/api/v1/search", params={"q": "support code"}).json()
    assert body["results"] and {r["lang"] for r in body["results"]} == {"en"}


# --- the search log -----------------------------------------------------------------------------


def flush(client: Any) -> None:
    client.portal.call(client.app.state.kb.db.flush)


def test_searches_and_clicks_are_logged_without_ip_addresses(client: TestClient) -> None:
    client.get("/en/")  # get a visitor cookie
    page = client.get("/en/search", params={"q": "  Premium   SUPPORT ", "type": "faq"})
    client.get("/api/v1/search", params={"q": "xylophone", "lang": "pt"})
    client.get("/api/v1/search", params={"q": "", "lang": "en"})  # empty: not a search
    client.get("/api/v1/suggest", params={"q": "prem", "lang": "en"})  # typing: not a search
    link = BeautifulSoup(page.text, "html.parser").select("ol.results a")[1]["href"]
    clicked = client.get(link)
    assert clicked.status_code == 302 and clicked.headers["location"].startswith("/en/articles/")
    flush(client)
    db = client.app.state.kb.db
    rows = client.portal.call(searchlog.recent_searches, db)
    assert [(r.query, r.lang, r.type, r.results > 0) for r in reversed(rows)] == [
        ("premium support", "en", "faq", True), ("xylophone", "pt", None, False)]
    settings = client.app.state.kb.settings
    cookie = client.cookies.get("kb_visitor")
    assert cookie and rows[0].visitor != cookie and len(rows[0].visitor) == 32
    assert rows[0].took_ms >= 0
    clicks = client.portal.call(searchlog.recent_clicks, db)
    assert len(clicks) == 1
    click = clicks[0]
    params = parse_qs(urlsplit(link).query)
    assert click.rank == 2 and click.query == "premium support" and click.lang == "en"
    assert click.search_id == int(params["sid"][0]) == rows[1].id
    assert click.visitor == rows[1].visitor
    article = client.app.state.kb.site.article("en", params["to"][0])
    assert click.article_id == article.id
    columns = client.portal.call(db.fetch_all, "SELECT name FROM pragma_table_info('searches') "
                                 "UNION ALL SELECT name FROM pragma_table_info('search_clicks')")
    assert not any("ip" in c[0].lower().split("_") or "addr" in c[0].lower() for c in columns)
    assert visitor_hash(settings.secret_key, "x") != "x"


def test_a_click_on_an_unknown_article_is_a_404_and_bad_ranks_are_not_logged(client: TestClient) -> None:
    assert client.get("/en/search/click", params={"to": "nope", "q": "x", "rank": 1}).status_code == 404
    response = client.get("/en/search/click", params={"to": "upgrade-premium-support", "q": "x", "rank": "abc"})
    assert response.status_code == 302
    flush(client)
    assert client.portal.call(searchlog.recent_clicks, client.app.state.kb.db) == []


def test_later_pages_keep_the_search_id_of_the_first(make_client: MakeClient, tree: ContentTree) -> None:
    for number in range(1, 16):
        tree.add("en", f"page-{number}", id=number, title=f"Password help {number}", body="Password.")
    client = make_client(tree.root)
    first = BeautifulSoup(client.get("/en/search", params={"q": "password"}).text, "html.parser")
    next_url = first.select_one("a[rel=next]")["href"]
    second = BeautifulSoup(client.get(next_url).text, "html.parser")
    link = second.select_one("ol.results a")["href"]
    assert parse_qs(urlsplit(link).query)["rank"] == ["11"]
    assert parse_qs(urlsplit(link).query)["sid"] == parse_qs(urlsplit(next_url).query)["sid"]
    flush(client)
    assert len(client.portal.call(searchlog.recent_searches, client.app.state.kb.db)) == 1


def test_excerpts_never_show_two_ellipses_in_a_row(sample_client: TestClient) -> None:
    results = sample_client.get("/api/v1/search", params={"q": "premium support", "lang": "en"}).json()["results"]
    assert results
    for result in results:
        assert "… …" not in result["highlight"], result["highlight"]
