"""Issue 10, item 6: every rate the analytics show stays honest.

Clicks count only for a search the same visitor made, once per (search, result), within the
click limits; crawlers' votes are kept for the visitor but counted nowhere (like their views).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from kb.analytics.periods import Filters, Period, today
from kb.storage import db as storage_db
from kb.storage import searchlog
from tests.conftest import DIALECTS, database_for

# The tests through the app (`client`) run on SQLite and on PostgreSQL: what counts is decided in
# SQL (the triggers of 0007 and their plpgsql twins). The migration and property tests build
# their own SQLite file.
database_url = pytest.fixture(params=DIALECTS)(database_for)

HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"


def flush(client: TestClient) -> None:
    client.portal.call(client.app.state.kb.db.flush)  # type: ignore[attr-defined]


def rows(client: TestClient, sql: str) -> list[Any]:
    flush(client)
    found = client.portal.call(client.app.state.kb.db.fetch_all, sql)  # type: ignore[attr-defined]
    return [tuple(row) for row in found]


def figures(client: TestClient) -> dict[str, float | None]:
    analytics = client.app.state.kb.analytics  # type: ignore[attr-defined]
    analytics.cache_seconds = 0
    day = today()
    found = client.portal.call(analytics.headline, Period(day, day), Filters())
    return {figure.key: figure.value for figure in found}


def result_links(client: TestClient, query: str) -> list[str]:
    page = client.get("/en/search", params={"q": query})
    assert page.status_code == 200
    return [a["href"] for a in BeautifulSoup(page.text, "html.parser").select("ol.results a")]


# --- clicks ------------------------------------------------------------------------------------


def test_forged_clicks_count_nothing(client: TestClient) -> None:
    client.get("/en/")  # a visitor cookie, as a script replaying links would keep
    result_links(client, "premium support")  # one genuine search, never clicked
    for i in range(200):
        response = client.get(f"/en/search/click?to=upgrade-premium-support&q=bogus&sid={i}&rank=1")
        assert response.status_code == 302
    assert rows(client, "SELECT count(*) FROM search_clicks") == [(0,)]
    assert rows(client, "SELECT sum(searches), sum(clicked) FROM search_daily") == [(1, 0)]
    assert figures(client)["click_through"] == 0.0


def test_a_genuine_click_counts_once_however_often_it_is_repeated(client: TestClient) -> None:
    links = result_links(client, "premium support")
    assert len(links) >= 2
    for _ in range(5):
        assert client.get(links[1]).status_code == 302
    assert rows(client, "SELECT count(*), min(rank) FROM search_clicks") == [(1, 2)]
    client.get(links[0])  # another result of the same search: a second click, the same clicked search
    assert rows(client, "SELECT count(*) FROM search_clicks") == [(2,)]
    assert rows(client, "SELECT searches, clicked, query FROM search_daily") == [(1, 1, "premium support")]
    assert figures(client)["click_through"] == 1.0


def test_someone_elses_search_id_counts_nothing(client: TestClient) -> None:
    link = result_links(client, "premium support")[0]
    mine = dict(client.cookies)
    client.cookies.clear()  # another browser replays the link
    assert client.get(link).status_code == 302
    assert rows(client, "SELECT count(*) FROM search_clicks") == [(0,)]
    sid = parse_qs(urlsplit(link).query)["sid"][0]
    client.cookies.clear()
    client.cookies.update(mine)
    # The right visitor but the wrong language, or an id SQLite cannot hold: nothing, no error.
    assert client.get(f"/pt/search/click?to=suporte-premium-limites&rank=1&sid={sid}").status_code == 302
    assert client.get(f"/en/search/click?to=upgrade-premium-support&rank=1&sid={2**64}").status_code == 302
    assert rows(client, "SELECT count(*) FROM search_clicks") == [(0,)]
    assert client.get(link).status_code == 302  # the searcher's own click does count
    assert rows(client, "SELECT count(*) FROM search_clicks") == [(1,)]


def test_crawlers_searches_and_clicks_are_not_logged(client: TestClient) -> None:
    agent = {"User-Agent": HEADLESS}
    page = client.get("/en/search", params={"q": "premium support"}, headers=agent)
    link = BeautifulSoup(page.text, "html.parser").select("ol.results a")[0]["href"]
    assert client.get(link, headers=agent).status_code == 302
    assert rows(client, "SELECT (SELECT count(*) FROM searches), (SELECT count(*) FROM search_clicks)") == [(0, 0)]


def test_clicks_past_the_rate_limit_are_not_recorded_but_still_lead_to_the_article(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.app.state.kb.search_log.click_limits.visitors, "limit", 3)  # type: ignore[attr-defined]
    for _ in range(4):
        link = result_links(client, "premium support")[0]
        response = client.get(link)
        assert response.status_code == 302 and response.headers["location"].startswith("/en/articles/")
    assert rows(client, "SELECT count(*) FROM search_clicks") == [(3,)]
    assert rows(client, "SELECT searches, clicked FROM search_daily") == [(4, 3)]


def test_clicked_never_exceeds_searches_in_any_report_row(client: TestClient) -> None:
    for query in ("premium support", "vip code", "premium support"):
        for link in result_links(client, query)[:3]:
            client.get(link)
            client.get(link)
    for i in range(50):
        client.get(f"/en/search/click?to=upgrade-premium-support&q=vip+code&sid={i}&rank=1")
    daily = rows(client, "SELECT searches, clicked FROM search_daily")
    assert daily and all(clicked <= searches for searches, clicked in daily)
    assert sum(clicked for _, clicked in daily) == 3
    assert figures(client)["click_through"] == 1.0


def test_the_migration_recounts_forged_clicks_of_an_older_database(tmp_path: Path) -> None:
    """A database written before 0007 (forged and repeated clicks) reports at most 100% after it."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in storage_db.migrations():
        if migration.version <= 6:
            for statement in storage_db.split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {migration.version}")
    conn.execute("INSERT INTO searches (id, query, lang, results, took_ms, visitor) "
                 "VALUES (1, 'vpn', 'en', 3, 1.0, 'reader'), (2, 'vpn', 'en', 3, 1.0, 'other')")
    conn.executemany("INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor) "
                     "VALUES (?, 'vpn', 'en', 7, 1, ?)",
                     [(1, "reader"), (1, "reader"), (2, "forger")] + [(None, "forger")] * 20)
    assert conn.execute("SELECT searches, clicked FROM search_daily").fetchall() == [(2, 22)]
    conn.close()

    async def migrate() -> None:
        database = storage_db.Database(path)
        await database.open()
        await database.close()

    asyncio.run(migrate())
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT searches, clicked FROM search_daily").fetchall() == [(2, 1)]
        assert conn.execute("SELECT count(*) FROM search_clicks WHERE search_id = 1").fetchone() == (1,)


# A reader's session, as the writer sees it: searches by some visitors, clicks by some visitors
# on some search (made or not, theirs or not) and some result.
_SEARCH = st.tuples(st.just("search"), st.integers(0, 2), st.sampled_from(["vpn", "refund"]))
_CLICK = st.tuples(st.just("click"), st.integers(0, 2), st.integers(0, 8), st.integers(1, 3))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.one_of(_SEARCH, _CLICK), max_size=25))
def test_property_a_search_is_clicked_at_most_once_and_only_by_its_visitor(actions: list[tuple[Any, ...]]) -> None:
    import tempfile

    async def run(path: Path) -> tuple[list[Any], list[Any]]:
        database = storage_db.Database(path)
        await database.open()
        made: list[tuple[int, str, str]] = []  # (id, visitor, query)
        for action in actions:
            if action[0] == "search":
                search_id = searchlog.new_search_id()
                made.append((search_id, f"v{action[1]}", action[2]))
                database.write_later(searchlog.record_search(search_id, action[2], "en", None, None, 3, 1.0,
                                                             f"v{action[1]}"))
            else:
                _, visitor, which, article = action
                search_id = made[which][0] if which < len(made) else 10**12 + which
                database.write_later(searchlog.record_click(search_id, "en", article, article, f"v{visitor}"))
        await database.flush()
        daily = await database.fetch_all("SELECT query, searches, clicked FROM search_daily")
        clicks = await database.fetch_all("SELECT search_id, article_id, visitor FROM search_clicks")
        await database.close()
        return [tuple(r) for r in daily], [tuple(r) for r in clicks]

    with tempfile.TemporaryDirectory() as folder:
        daily, clicks = asyncio.run(run(Path(folder) / "kb.sqlite3"))
    # The model: a click is kept when its search exists and is its visitor's, once per result.
    made: list[tuple[int, str, str]] = []
    kept: set[tuple[int, int]] = set()
    for action in actions:
        if action[0] == "search":
            made.append((len(made), f"v{action[1]}", action[2]))
        elif action[2] < len(made) and made[action[2]][1] == f"v{action[1]}":
            kept.add((action[2], action[3]))
    assert len(clicks) == len(kept) == len({(c[0], c[1]) for c in clicks})
    for query, searches, clicked in daily:
        assert clicked <= searches
        assert searches == sum(1 for m in made if m[2] == query)
        assert clicked == len({which for which, _ in kept if made[which][2] == query})


# --- votes: the visitor filter of page views -----------------------------------------------------

ARTICLE = "/en/articles/support-code-and-vip-code"
VOTES = "/api/v1/articles/en/support-code-and-vip-code/votes"


def test_a_headless_browsers_vote_is_kept_for_it_but_counted_nowhere(client: TestClient) -> None:
    bot = {"User-Agent": HEADLESS}
    assert client.get(ARTICLE, headers=bot).status_code == 200
    cast = client.post(VOTES, json={"helpful": True}, headers=bot)
    assert cast.status_code == 201
    assert cast.json()["vote"]["helpful"] is True and (cast.json()["yes"], cast.json()["total"]) == (0, 0)
    changed = client.post(VOTES, json={"helpful": False, "reason": "incorrect"}, headers=bot)
    assert changed.status_code == 200 and changed.json()["total"] == 0
    # The no-JavaScript form answers as for anyone: back to the article, which shows the vote.
    page = BeautifulSoup(client.get(ARTICLE, headers=bot).text, "html.parser")
    token = page.select_one("section.feedback#feedback-3 input[name=csrf_token]")["value"]
    sent = client.post(ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "yes", "next": ARTICLE},
                       headers=bot)
    assert sent.status_code == 303 and sent.headers["location"] == ARTICLE + "#feedback-3"
    widget = BeautifulSoup(client.get(ARTICLE, headers=bot).text, "html.parser").select_one("#feedback-3")
    assert widget.select_one("button[value=yes]")["aria-pressed"] == "true"
    assert client.get(VOTES, headers=bot).json()["vote"]["helpful"] is True
    assert rows(client, "SELECT helpful, counted FROM votes") == [(1, 0)]
    assert rows(client, "SELECT coalesce(sum(yes + no), 0) FROM vote_tallies") == [(0,)]
    assert figures(client)["views"] == 0 and figures(client)["votes"] == 0

    client.cookies.clear()  # a reader: one view, one vote
    client.get(ARTICLE)
    assert client.post(VOTES, json={"helpful": True}).json()["total"] == 1
    found = figures(client)
    assert (found["views"], found["votes"], found["vote_rate"], found["helpful_rate"]) == (1, 1, 1.0, 1.0)


def test_a_vote_counts_from_the_moment_the_same_visitor_votes_as_a_reader(client: TestClient) -> None:
    client.get(ARTICLE)
    assert client.post(VOTES, json={"helpful": False}, headers={"User-Agent": "curl/8.5.0"}).json()["total"] == 0
    assert client.post(VOTES, json={"helpful": True}).json()["yes"] == 1
    assert client.post(VOTES, json={"helpful": True}, headers={"User-Agent": "curl/8.5.0"}).json()["total"] == 0
    assert rows(client, "SELECT yes, no FROM vote_tallies") == [(0, 0)]
    assert rows(client, "SELECT sum(yes), sum(no) FROM article_daily") == [(0, 0)]


def test_a_faq_voted_on_from_its_category_page_was_viewed_there(client: TestClient) -> None:
    """Category pages show each FAQ in full with its vote widget: a view there, so votes per view
    stay at most one per reader."""
    page = BeautifulSoup(client.get("/en/premium-support/").text, "html.parser")
    regions = page.select("section.feedback")
    assert len(regions) >= 2
    form = regions[0].select_one("form")
    token = form.select_one("input[name=csrf_token]")["value"]
    assert client.post(form["action"], data={"csrf_token": token, "helpful": "yes"}).status_code == 303
    views = dict(rows(client, "SELECT article_id, views FROM article_daily WHERE views > 0"))
    assert len(views) == len(regions) and set(views.values()) == {1}
    found = figures(client)
    assert (found["votes"], found["views"]) == (1, len(regions))
    client.get("/en/premium-support/", headers={"User-Agent": HEADLESS})
    assert figures(client)["views"] == len(regions)


# --- error reasons in the page's language ------------------------------------------------------


@pytest.mark.parametrize(("path", "reason"), [
    ("/en/articles/nothing-here", "article not found"),
    ("/pt/articles/nada-aqui", "artigo não encontrado"),
    ("/fr/articles/rien-ici", "article introuvable"),
    ("/pt/no-such-category/", "categoria não encontrada"),
    ("/fr/no-such-category/", "catégorie introuvable"),
    ("/no/such/page", "não encontrado"),  # Starlette's own 404, in the Accept-Language
])
def test_the_404_reason_is_in_the_pages_language(sample_client: TestClient, path: str, reason: str) -> None:
    response = sample_client.get(path, headers={"Accept-Language": "pt"})
    assert response.status_code == 404
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one(".error-message").get_text() == reason


def test_the_api_keeps_its_reasons_in_english(sample_client: TestClient) -> None:
    response = sample_client.get("/api/v1/articles/pt/nada-aqui/votes", headers={"Accept-Language": "pt"})
    assert response.status_code == 404 and response.json() == {"error": "article not found"}
