"""The analytics pages, downloads, API (tokens), view recording and CLI, through the real app.

The figures come from tests/analytics_data.py (worked out in tests/test_analytics.py); the
period is the custom week 2026-03-25..2026-03-31.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kb.cli.main import main as kb_main
from tests.admin_support import login, signed_in, soup
from tests.analytics_data import load, write_content
from tests.conftest import DIALECTS, ContentTree, MakeClient, database_for

# The SQL these tests exercise runs on SQLite and on PostgreSQL.
database_url = pytest.fixture(params=DIALECTS)(database_for)

WEEK = "period=custom&since=2026-03-25&until=2026-03-31"


@pytest.fixture
def app(make_client: MakeClient, tree: ContentTree) -> TestClient:
    write_content(tree)
    client: TestClient = make_client(tree.root)
    svc = client.app.state.kb  # type: ignore[attr-defined]
    client.portal.call(load, svc.db, svc.site.article("en", "refund-policy").revision)  # type: ignore[union-attr]
    return client


def create_token(client: TestClient, name: str = "bi") -> str:
    tokens = client.app.state.kb.tokens  # type: ignore[attr-defined]
    return client.portal.call(tokens.create, name)  # type: ignore[union-attr,no-any-return]


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/admin/analytics", "/admin/analytics/articles/1?lang=en", "/admin/analytics/export/votes?format=csv"])
def test_only_analysts_and_admins_see_analytics(app: TestClient, path: str) -> None:
    anonymous = app.get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login?next=")
    signed_in(app, "ed", "editor")
    assert app.get(path).status_code == 403
    signed_in(app, "ann", "analyst")
    assert app.get(path).status_code == 200
    signed_in(app, "ada", "admin")
    assert app.get(path).status_code == 200


def test_analysts_find_analytics_in_the_admin_menu(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    page = soup(app.get("/admin/", follow_redirects=True))
    assert next(a["href"] for a in page.select(".admin-nav a")) == "/admin/analytics"


# --- dashboard --------------------------------------------------------------------------------


def figure(page: Any, key: str) -> str:
    return page.select_one(f'[data-figure="{key}"] .figure-value').get_text(strip=True)


def test_dashboard_headline_figures_with_the_previous_period(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    page = soup(app.get(f"/admin/analytics?{WEEK}"))
    assert figure(page, "views") == "94" and figure(page, "votes") == "26"
    assert figure(page, "helpful_rate") == "61.5%"  # 16 / 26
    assert figure(page, "vote_rate") == "27.7%"  # 26 / 94
    assert figure(page, "comments") == "4" and figure(page, "searches") == "14"
    assert figure(page, "zero_rate") == "21.4%" and figure(page, "click_through") == "21.4%"  # 3 / 14
    change = page.select_one('[data-figure="views"] .figure-change').get_text(" ", strip=True)
    assert "+488%" in change and "16" in change  # (94 - 16) / 16
    helpful = page.select_one('[data-figure="helpful_rate"] .figure-change')
    assert "-13.5 pt" in helpful.get_text() and "bad" in helpful["class"]  # 61.5% against 75%
    assert "2026" in page.select_one(".period-note").get_text()


def test_dashboard_speaks_the_admins_language(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    page = soup(app.get(f"/admin/analytics?{WEEK}", headers={"Accept-Language": "fr"}))
    assert page.h1.get_text() != "Analytics"
    assert figure(page, "helpful_rate") == "61,5\xa0%"


def test_chart_is_an_svg_with_a_table_alternative(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    page = soup(app.get(f"/admin/analytics?{WEEK}"))
    svg = page.select_one("figure.chart svg")
    assert svg["role"] == "img" and svg.title.get_text()
    assert len(svg.select("polyline.chart-rate")) == 1
    rows = page.select("details.chart-data tbody tr")
    assert next(r.th.get_text() for r in rows) == "2026-03-25" and len(rows) == 7
    assert [td.get_text() for td in rows[3].select("td")] == ["34", "2", "0", "100.0%"]
    weekly = soup(app.get(f"/admin/analytics?{WEEK}&interval=week"))
    assert [r.th.get_text(" ", strip=True) for r in weekly.select("details.chart-data tbody tr")] == [
        "2026-03-25 – 2026-03-29", "2026-03-30 – 2026-03-31"]


def test_articles_table_needs_attention_first_and_sorts_by_links(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    page = soup(app.get(f"/admin/analytics?{WEEK}"))
    rows = page.select(".analytics-table tbody tr")
    assert rows[0].th.a.get_text() == "Refund policy" and "attention" in rows[0]["class"]
    cells = [td.get_text(strip=True) for td in rows[0].select("td")]
    assert cells[:7] == ["70", "3", "9", "25.0%", "8.9%", "17.1%", "▼-50.0 pt"]
    assert cells[7] == "2026-03-26"
    views_link = next(a for a in page.select(".analytics-table thead a") if a.get_text(strip=True) == "Views")
    by_views = soup(app.get(views_link["href"]))
    assert [r.select("td")[0].get_text() for r in by_views.select(".analytics-table tbody tr")] == [
        "70", "20", "4", "0"]
    header = by_views.select_one('.analytics-table th[aria-sort]')
    assert header["aria-sort"] == "descending"
    reverse = next(a for a in by_views.select(".analytics-table thead a") if a.get_text(strip=True).startswith("Views"))
    again = soup(app.get(reverse["href"]))
    assert next(r.select("td")[0].get_text() for r in again.select(".analytics-table tbody tr")) == "0"


def test_filters_narrow_every_section(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    french = soup(app.get(f"/admin/analytics?{WEEK}&lang=fr"))
    assert figure(french, "views") == "4" and figure(french, "searches") == "2"
    assert [r.th.a.get_text() for r in french.select(".analytics-table tbody tr")] == ["Politique de remboursement"]
    tutorials = soup(app.get(f"/admin/analytics?{WEEK}&type=tutorial"))
    assert figure(tutorials, "votes") == "10"
    billing = soup(app.get(f"/admin/analytics?{WEEK}&category=billing"))
    assert figure(billing, "views") == "74"
    assert billing.select_one("#f-category option[selected]")["value"] == "billing"


@pytest.mark.parametrize("database_url", [None])  # the route checks this input, not the SQL: one dialect
@pytest.mark.parametrize("query", [
    "period=5", "period=custom&since=2026-13-01", "period=custom&since=2026-03-31&until=2026-03-01",
    "sort=nope", "dir=up", "lang=de", "category=nope", "type=podcast", "interval=hour", "page=0", "page=abc"])
def test_bad_parameters_get_a_clear_400(app: TestClient, query: str) -> None:
    signed_in(app, "ann", "analyst")
    response = app.get(f"/admin/analytics?{query}")
    assert response.status_code == 400
    last_parameter = query.rsplit("&", 1)[-1].split("=")[0]  # the one that is wrong
    assert last_parameter in soup(response).select_one(".error-message").get_text(), response.text


def test_search_section_and_content_gap_link_for_editors(app: TestClient) -> None:
    signed_in(app, "ada", "admin")
    page = soup(app.get(f"/admin/analytics?{WEEK}"))
    zero = page.select("#searches section")[0]
    first = zero.select_one("tbody tr")
    assert first.th.get_text(" ", strip=True) == "cancel premium en"
    assert first.select("td")[0].get_text() == "3"
    assert "+2" in first.select("td")[1].get_text()  # 1 last period
    assert first.a["href"] == "/admin/articles/new?title=cancel+premium&lang=en"
    top = [r.th.span.get_text() for r in page.select("#searches section")[1].select("tbody tr")]
    assert top == ["refund", "vip code", "cancel premium", "remboursement"]
    signed_in(app, "ann", "analyst")  # analysts read, they do not write articles
    assert soup(app.get(f"/admin/analytics?{WEEK}")).select_one("#searches a[href^='/admin/articles/new']") is None


# --- drill-down -------------------------------------------------------------------------------


def test_drill_down_shows_revisions_reasons_and_escaped_comments(app: TestClient) -> None:
    signed_in(app, "ada", "admin")
    response = app.get(f"/admin/analytics/articles/1?lang=en&{WEEK}")
    assert "<script>alert(1)</script>" not in response.text
    page = soup(response)
    assert page.h1.get_text(" ", strip=True) == "Refund policy en"
    assert page.select_one("a.button")["href"] == "/admin/articles/en/refund-policy"
    revisions = [[c.get_text(" ", strip=True) for c in r.select("th, td")] for r in page.select(".revisions-table tbody tr")]
    assert revisions[0][1:7] == ["2026-03-01 09:00", "alice", "9", "2", "81.8%", "52.3%"]
    assert revisions[1][1:8] == ["2026-03-26 07:00", "bob", "0", "9", "0.0%", "0.0%", "▼ -81.8 pt"]
    assert "current" in revisions[1][0] and "Shorter answer" in revisions[1][0]
    reasons = [[c.get_text(strip=True) for c in r.select("th, td")] for r in page.select(".reasons-table tbody tr")]
    assert reasons == [["It didn't answer my question", "5", "55.6%"], ["No reason given", "2", "22.2%"],
                       ["It's incorrect or out of date", "2", "22.2%"]]
    comments = [c.get_text() for c in page.select(".comments blockquote")]
    assert comments[1] == "<script>alert(1)</script>" and comments[-1] == "Changed my mind"


def test_drill_down_comments_filter(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    page = soup(app.get(f"/admin/analytics/articles/1?lang=en&{WEEK}&reason=incorrect"))
    assert [c.get_text() for c in page.select(".comments blockquote")] == ["<script>alert(1)</script>"]
    page = soup(app.get(f"/admin/analytics/articles/1?lang=en&{WEEK}&q=paypal"))
    assert [c.get_text() for c in page.select(".comments blockquote")] == ["Nothing about refunds to PayPal"]
    assert page.select_one("a.button") is None  # analysts get no edit link
    for url, status, message in [
            (f"/admin/analytics/articles/1?lang=en&{WEEK}&helpful=maybe", 400, "helpful must be yes or no"),
            (f"/admin/analytics/articles/77?lang=en&{WEEK}", 404, "no article with this id and language"),
            ("/admin/analytics/articles/abc", 404, "no article with this id")]:
        response = app.get(url)
        assert response.status_code == status, url
        assert soup(response).select_one(".error-message").get_text() == message, url


# --- downloads and the API --------------------------------------------------------------------


def test_downloads_parse_back_to_the_same_rows_as_json(app: TestClient) -> None:
    signed_in(app, "ann", "analyst")
    as_csv = app.get(f"/admin/analytics/export/votes?format=csv&{WEEK}&lang=en")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="kb-votes-2026-03-25-2026-03-31.csv"' in as_csv.headers["content-disposition"]
    as_json = app.get(f"/admin/analytics/export/votes?format=json&{WEEK}&lang=en").json()
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(parsed) == len(as_json) == 24
    for got, want in zip(parsed, as_json, strict=True):
        assert got == {k: ("'" + str(v) if str(v).startswith("=") else "" if v is None else str(v))
                       for k, v in want.items()}
    articles = list(csv.DictReader(io.StringIO(app.get(f"/admin/analytics/export/articles?{WEEK}").text)))
    assert articles[0]["title"] == "Refund policy" and articles[0]["wilson_lower_bound"] == "0.0889"
    unknown = app.get(f"/admin/analytics/export/visitors?{WEEK}")
    assert unknown.status_code == 404
    assert "no export named 'visitors'; one of votes" in soup(unknown).select_one(".error-message").get_text()
    xml = app.get(f"/admin/analytics/export/votes?format=xml&{WEEK}")
    assert xml.status_code == 400 and soup(xml).select_one(".error-message").get_text() == "format must be csv or json"


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_api_needs_a_valid_token(app: TestClient, tmp_path: Path) -> None:
    anonymous = app.get("/api/v1/analytics/summary")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "a valid API token is required (Authorization: Bearer <token>)"}
    refused = app.get("/api/v1/analytics/summary", headers={"Authorization": "Bearer kb_wrong"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["error"]
    signed_in(app, "ann", "analyst")  # a session is not a token
    assert app.get("/api/v1/analytics/summary").status_code == 401
    token = create_token(app)
    auth = {"Authorization": f"Bearer {token}"}
    body = app.get(f"/api/v1/analytics/summary?{WEEK}", headers=auth).json()
    assert body["figures"]["views"] == {"value": 94, "previous": 16, "change": 4.875}
    assert body["figures"]["helpful_rate"]["value"] == 0.6154
    tokens = app.app.state.kb.tokens  # type: ignore[attr-defined]
    app.portal.call(tokens.revoke, "bi")  # type: ignore[union-attr]
    assert app.get(f"/api/v1/analytics/summary?{WEEK}", headers=auth).status_code == 401
    with sqlite3.connect(tmp_path / "data" / "kb.sqlite3") as conn:
        stored = conn.execute("SELECT token_hash, last_used_at FROM api_tokens").fetchone()
    assert token not in stored[0] and stored[1] is not None  # only a hash is kept


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_api_endpoints_answer_with_the_report_figures(app: TestClient) -> None:
    auth = {"Authorization": f"Bearer {create_token(app)}"}
    series = app.get(f"/api/v1/analytics/timeseries?{WEEK}&interval=week", headers=auth).json()
    assert [(p["start"], p["yes"], p["no"]) for p in series["points"]] == [
        ("2026-03-25", 15, 9), ("2026-03-30", 1, 1)]
    articles = app.get(f"/api/v1/analytics/articles?{WEEK}&limit=2", headers=auth).json()
    assert articles["total"] == 4 and len(articles["results"]) == 2
    assert articles["results"][0]["needs_attention"] == "low"
    detail = app.get(f"/api/v1/analytics/articles/1?lang=en&{WEEK}", headers=auth).json()
    assert [(r["yes"], r["no"], r["author"]) for r in detail["revisions"]] == [(9, 2, "alice"), (0, 9, "bob")]
    assert detail["reasons"][0] == {"reason": "didnt_answer", "count": 5}
    searches = app.get(f"/api/v1/analytics/searches?{WEEK}", headers=auth).json()
    assert searches["zero_results"][0] == {
        "query": "cancel premium", "lang": "en", "searches": 3, "zero_results": 3, "clicked": 0,
        "zero_rate": 1.0, "click_through": 0.0, "previous_zero_results": 1}
    export = app.get(f"/api/v1/analytics/export/searches?format=json&{WEEK}&lang=fr", headers=auth).json()
    assert [s["query"] for s in export] == ["remboursement", "remboursement"]
    bad = app.get("/api/v1/analytics/summary?period=5", headers=auth)
    assert bad.status_code == 400 and "period" in bad.json()["error"]


def test_openapi_documents_the_analytics_api_and_its_token(app: TestClient) -> None:
    document = app.get("/api/v1/openapi.json").json()
    assert document["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    for path in ("summary", "timeseries", "articles", "articles/{id}", "searches", "export/{kind}"):
        operation = document["paths"][f"/api/v1/analytics/{path}"]["get"]
        assert operation["security"] == [{"apiToken": []}] and "401" in operation["responses"]


# --- page views -------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_article_views_are_counted_once_per_visitor_per_day_without_bots_or_ips(
        make_client: MakeClient, tree: ContentTree, tmp_path: Path) -> None:
    write_content(tree)
    reader = make_client(tree.root)
    for _ in range(3):
        assert reader.get("/en/articles/invoices").status_code == 200
    first_cookie = reader.cookies.get("kb_visitor") or ""
    reader.cookies.clear()  # another browser
    reader.get("/en/articles/invoices")
    for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Mozilla/5.0 HeadlessChrome/120",
                  "curl/8.0", ""):
        reader.cookies.clear()  # each crawler a new visitor: only the user agent keeps them out
        assert reader.get("/en/articles/invoices", headers={"User-Agent": agent}).status_code == 200
    reader.portal.call(reader.app.state.kb.db.flush)  # type: ignore[union-attr,attr-defined]
    with sqlite3.connect(tmp_path / "data" / "kb.sqlite3") as conn:
        views = conn.execute("SELECT day, article_id, lang, visitor FROM page_views").fetchall()
        daily = conn.execute("SELECT article_id, lang, views FROM article_daily").fetchall()
        columns = [row[1] for row in conn.execute("PRAGMA table_info(page_views)")]
    assert len(views) == 2 and daily == [(3, "en", 2)]
    assert columns == ["day", "article_id", "lang", "visitor"]  # no address, no user agent
    assert first_cookie and all(len(v[3]) == 32 and v[3] not in first_cookie for v in views)


# --- command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_kb_token_and_kb_analytics_export(app: TestClient, tree: ContentTree, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--content-dir", str(tree.root), "--data-dir", str(tmp_path / "data")]
    assert kb_main(["token", "create", "looker", *common]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("kb_")
    assert kb_main(["token", "create", "looker", *common]) == 2  # names are unique
    assert "already exists" in capsys.readouterr().err
    auth = {"Authorization": f"Bearer {token}"}
    assert app.get("/api/v1/analytics/summary", headers=auth).status_code == 200
    assert kb_main(["token", "list", *common]) == 0
    listed = capsys.readouterr().out
    assert "looker\tactive" in listed and token not in listed
    assert kb_main(["token", "revoke", "looker", *common]) == 0
    assert app.get("/api/v1/analytics/summary", headers=auth).status_code == 401
    assert kb_main(["token", "revoke", "looker", *common]) == 2
    capsys.readouterr()

    out = tmp_path / "votes.csv"
    assert kb_main(["analytics", "export", "--format", "csv", "--since", "2026-03-25", "--until", "2026-03-31",
                    "--lang", "en", "-o", str(out), *common]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        from_cli = list(csv.DictReader(handle))
    signed_in(app, "ann", "analyst")
    from_web = list(csv.DictReader(io.StringIO(app.get(f"/admin/analytics/export/votes?{WEEK}&lang=en").text)))
    assert from_cli == from_web and len(from_cli) == 24
    assert kb_main(["analytics", "export", "--format", "json", "--kind", "searches", "--since", "2026-03-18",
                    "--until", "2026-03-24", *common]) == 0
    assert [s["query"] for s in json.loads(capsys.readouterr().out)] == ["cancel premium"]
    assert kb_main(["analytics", "export", "--since", "March", *common]) == 2
    assert "since must be a date" in capsys.readouterr().err
    assert login(app, "ann").status_code == 303


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_votes_cast_on_the_site_reach_the_reports_also_when_changed(
        make_client: MakeClient, tree: ContentTree) -> None:
    write_content(tree)
    client = make_client(tree.root)
    client.app.state.kb.analytics.cache_seconds = 0  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {create_token(client)}"}
    client.get("/en/articles/invoices")
    assert client.post("/api/v1/articles/en/invoices/votes", json={"helpful": True}).status_code == 201
    summary = client.get("/api/v1/analytics/summary?period=7", headers=auth).json()["figures"]
    assert (summary["views"]["value"], summary["votes"]["value"], summary["helpful_rate"]["value"]) == (1, 1, 1.0)
    changed = client.post("/api/v1/articles/en/invoices/votes",
                          json={"helpful": False, "reason": "incorrect", "comment": "Old prices"})
    assert changed.status_code == 200
    detail = client.get("/api/v1/analytics/articles/3?lang=en&period=7", headers=auth).json()
    assert (detail["article"]["yes"], detail["article"]["no"], detail["article"]["comments"]) == (0, 1, 1)
    assert detail["reasons"] == [{"reason": "incorrect", "count": 1}]
    assert [(r["yes"], r["no"], r["current"]) for r in detail["revisions"]] == [(0, 1, True)]
    assert detail["comments"]["results"][0]["comment"] == "Old prices"
