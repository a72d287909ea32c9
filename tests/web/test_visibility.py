"""`visibility: internal`: an article for staff only. Each public surface is asked for it as an
anonymous visitor (it must be absent, a missing article's 404 where it is addressed directly) and
as signed-in staff where staff should see it (the page, its permalink, its category, a badge)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from starlette.testclient import TestClient

from kb.content.loader import load_content
from kb.feedback import MOST_HELPFUL_MIN_VOTES
from tests.admin_support import csrf, form_fields, open_form, signed_in, soup
from tests.conftest import ContentTree, MakeClient

PUBLIC = "/en/articles/refund-policy"
GUIDE = "/en/articles/refund-desk-notes"  # internal, alone in its category (accounts)
MACROS = "/en/articles/refund-macros"  # internal FAQ beside public ones (billing)


@pytest.fixture
def tree_with_internal(tree: ContentTree) -> ContentTree:
    tags = ["refund", "money"]  # shared tags: each would be "related" to the others
    tree.add("en", "refund-policy", id=1, title="Refund policy", tags=tags,
             body="We refund within 30 days.", updated="2026-01-10")
    tree.add("en", "refund-desk-notes", id=2, title="Refund desk notes", category="accounts",
             type="tutorial", tags=tags, visibility="internal", updated="2026-03-01",
             body="How agents handle a refund zorblifier.")
    tree.add("fr", "notes-remboursement", id=2, title="Notes remboursement", category="accounts",
             type="tutorial", visibility="internal", body="Remboursement zorblifier.")
    tree.add("en", "refund-macros", id=3, title="Refund macros", tags=tags, visibility="internal",
             updated="2026-03-02", body="Canned refund zorblifier answers.")
    tree.add("fr", "politique-remboursement", id=1, title="Politique de remboursement",
             body="Nous remboursons.")
    return tree


@pytest.fixture
def public(make_client: MakeClient, tree_with_internal: ContentTree) -> TestClient:
    return make_client(tree_with_internal.root)


@pytest.fixture
def staff(make_client: MakeClient, tree_with_internal: ContentTree) -> TestClient:
    return signed_in(make_client(tree_with_internal.root), "ana", "analyst")  # the least role


INTERNAL_WORDS = ("Refund desk notes", "refund-desk-notes", "Refund macros", "refund-macros",
                  "Notes remboursement", "notes-remboursement")


def assert_no_internal(text: str) -> None:
    for word in INTERNAL_WORDS:
        assert word not in text, word


# --- the article itself ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [GUIDE, MACROS, "/fr/articles/notes-remboursement"])
def test_an_internal_article_is_the_404_of_a_missing_one_for_the_public(public: TestClient, url: str) -> None:
    missing = public.get(url.rsplit("/", 1)[0] + "/no-such-article")
    response = public.get(url)
    assert response.status_code == missing.status_code == 404
    assert soup(response).select_one("main").get_text() == soup(missing).select_one("main").get_text()
    assert_no_internal(response.text)


def test_staff_read_an_internal_article_with_its_badge_and_nothing_for_customers(staff: TestClient) -> None:
    response = staff.get(GUIDE)
    assert response.status_code == 200
    page = soup(response)
    assert page.h1.get_text() == "Refund desk notes"
    assert page.select_one(".article-header .badge-internal").get_text() == "Internal"
    assert page.select_one("section.feedback") is None  # no votes on an internal article
    assert page.select('script[type="application/ld+json"]') == []
    assert page.select_one("meta[name=robots]")["content"] == "noindex"
    assert response.headers["cache-control"] == "private, no-cache"
    # its translation is internal too: staff see it listed
    assert [a["hreflang"] for a in page.select("section[aria-labelledby=translations-title] a")] == ["fr"]


def test_a_public_page_shows_no_badge_and_keeps_its_json_ld_for_staff(staff: TestClient) -> None:
    page = soup(staff.get(PUBLIC))
    assert page.select(".badge-internal") == []
    assert len(page.select('script[type="application/ld+json"]')) == 1


def test_related_and_translations_of_a_public_article_hold_no_internal_one(public: TestClient, staff: TestClient) -> None:
    for client in (public, staff):  # the public page is the same for everyone
        page = soup(client.get(PUBLIC))
        assert_no_internal(str(page.select_one("aside.sidebar")))
        assert [a["hreflang"] for a in page.select("section[aria-labelledby=translations-title] a")] == ["fr"]


def test_the_permalink_of_an_internal_article_is_a_404_for_the_public(public: TestClient, staff: TestClient) -> None:
    assert public.get("/faq/2", follow_redirects=False).status_code == 404
    assert public.get("/faq/3?lang=en", follow_redirects=False).status_code == 404
    assert public.get("/faq/1", follow_redirects=False).headers["location"] == PUBLIC
    answer = staff.get("/faq/2", follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"] == GUIDE


# --- lists ---------------------------------------------------------------------------------------


def test_home_lists_counts_and_categories_public_articles_only(public: TestClient, staff: TestClient) -> None:
    page = soup(public.get("/en/"))
    assert_no_internal(page.get_text())
    cards = [a.get_text() for a in page.select(".category-cards h3 a")]
    assert "Billing" in cards and "Accounts" not in cards  # only internal articles in Accounts
    assert "1 FAQ" in page.select_one(".hero-lead").get_text()
    recent = [a.get_text() for a in page.select("section[aria-labelledby=recent-title] li a")]
    assert recent == ["Refund policy"]
    # staff can browse to the category of the internal guides from the home page
    assert "Accounts" in [a.get_text() for a in soup(staff.get("/en/")).select(".category-cards h3 a")]


def test_a_category_of_internal_articles_only_is_a_404_for_the_public(public: TestClient, staff: TestClient) -> None:
    assert public.get("/en/accounts/").status_code == 404
    assert public.get("/en/no-such-category/").status_code == 404
    page = soup(staff.get("/en/accounts/"))
    item = page.select_one(".article-list li")
    assert item.select_one("a").get_text() == "Refund desk notes"
    assert item.select_one(".badge-internal").get_text() == "Internal"


def test_a_category_page_lists_internal_faqs_to_staff_only(public: TestClient, staff: TestClient) -> None:
    response = public.get("/en/billing/")
    assert response.status_code == 200 and "Refund policy" in response.text
    assert_no_internal(response.text)
    page = soup(staff.get("/en/billing/"))
    entry = page.select_one("#faq-3")
    assert entry is not None and "Refund macros" in entry.get_text()
    assert entry.select_one(".badge-internal") is not None
    assert entry.select_one("section.feedback") is None
    assert page.select_one("#faq-1 section.feedback") is not None


def test_sitemap_and_feeds_leave_internal_articles_out(public: TestClient) -> None:
    sitemap = public.get("/sitemap.xml").text
    assert_no_internal(sitemap)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text or "" for loc in ET.fromstring(sitemap).findall("s:url/s:loc", ns)]
    assert "http://testserver/en/articles/refund-policy" in locs
    assert not any(loc.endswith("/en/accounts/") for loc in locs)
    for lang in ("en", "fr"):
        feed = public.get(f"/{lang}/feed.xml")
        assert feed.status_code == 200
        assert_no_internal(feed.text)
    assert "Refund policy" in public.get("/en/feed.xml").text
    assert public.get("/healthz").json()["articles"] == 2


# --- search --------------------------------------------------------------------------------------


def test_search_and_suggest_never_find_an_internal_article(public: TestClient, staff: TestClient) -> None:
    # Internal articles are not in the index at all: staff find them in the editor's list instead.
    for client in (public, staff):
        hits = client.get("/api/v1/search", params={"lang": "en", "q": "refund"}).json()["results"]
        assert [h["slug"] for h in hits] == ["refund-policy"]
        assert client.get("/api/v1/search", params={"lang": "en", "q": "zorblifier"}).json()["results"] == []
        suggested = client.get("/api/v1/suggest", params={"lang": "en", "q": "refund"}).json()
        assert_no_internal(str(suggested))
        page = client.get("/en/search", params={"q": "refund"})
        assert page.status_code == 200 and "Refund policy" in page.text
        assert_no_internal(page.text)
        filters = [a.get_text() for a in soup(page).select("a")]
        assert not any(text.startswith("Accounts") for text in filters)  # no filter for it either
    assert public.get("/en/search/click", params={"to": "refund-desk-notes"},
                      follow_redirects=False).status_code == 404


# --- the API and votes ---------------------------------------------------------------------------


def test_the_public_api_does_not_serve_internal_articles(public: TestClient, staff: TestClient) -> None:
    for client in (public, staff):  # the API is public: a session cookie changes nothing
        listed = client.get("/api/v1/articles", params={"limit": 100}).json()
        assert listed["total"] == 2 and {a["id"] for a in listed["results"]} == {1}
        assert client.get("/api/v1/articles", params={"category": "accounts"}).json()["total"] == 0
        missing = client.get("/api/v1/articles/en/no-such-article")
        answer = client.get("/api/v1/articles/en/refund-desk-notes")
        assert answer.status_code == 404 and answer.json() == missing.json()
        assert client.get("/api/v1/articles/en/refund-policy").json()["translations"] == [
            {"lang": "fr", "slug": "politique-remboursement", "title": "Politique de remboursement",
             "url": "/fr/articles/politique-remboursement"}]


def test_votes_on_an_internal_article_are_refused_as_for_a_missing_one(public: TestClient) -> None:
    url = "/api/v1/articles/en/refund-macros/votes"
    assert public.get(url).status_code == 404
    response = public.post(url, json={"helpful": True})
    assert response.status_code == 404
    assert public.post("/api/v1/articles/en/refund-policy/votes", json={"helpful": True}).status_code == 201
    page = public.get("/en/billing/")
    form = public.post("/en/articles/refund-macros/feedback",
                       data={"csrf_token": csrf(page.text), "helpful": "yes", "next": "/en/billing/"},
                       follow_redirects=False)
    assert form.status_code == 404


def test_most_helpful_shows_once_there_are_votes_and_never_an_internal_article(public: TestClient) -> None:
    assert soup(public.get("/en/")).select_one("#helpful-title") is None  # a fresh site: no empty block
    assert "No votes yet" not in public.get("/en/").text
    for _ in range(MOST_HELPFUL_MIN_VOTES):  # three readers (a new visitor cookie each)
        public.cookies.clear()
        assert public.post("/api/v1/articles/en/refund-policy/votes", json={"helpful": True}).status_code == 201
    section = soup(public.get("/en/")).select_one("section[aria-labelledby=helpful-title]")
    assert section is not None
    assert [a.get_text() for a in section.select("li a")] == ["Refund policy"]


# --- the front matter and the editor -------------------------------------------------------------


def test_a_wrong_visibility_is_reported_with_its_file_and_line(tree: ContentTree) -> None:
    path = tree.add("en", "secret", id=1, visibility="secret")
    content = load_content(tree.root)
    assert [str(p) for p in content.problems] == [
        f"{path}:10: visibility must be one of public, internal, not 'secret'"]
    assert content.articles == {}
    tree.add("en", "secret", id=1, visibility="public")
    assert not load_content(tree.root).articles[("en", "secret")].internal


def test_the_editor_sets_and_clears_visibility(make_client: MakeClient, tree: ContentTree) -> None:
    path = tree.add("en", "refund-policy", id=1, title="Refund policy")
    tree.add("en", "contact", id=2)  # a language's pages need a public article (site.languages)
    editor = signed_in(make_client(tree.root), "ed", "editor")
    url = "/admin/articles/en/refund-policy"
    form = open_form(editor, url)
    assert form["visibility"] == "public"
    options = [o["value"] for o in soup(editor.get(url)).select("select[name=visibility] option")]
    assert options == ["public", "internal"]
    before = path.read_text(encoding="utf-8")
    assert editor.post(url, data={**form, "visibility": "internal", "action": "publish"}).status_code == 303
    text = path.read_text(encoding="utf-8")
    assert "visibility: internal\n" in text
    assert text.replace("visibility: internal\n", "") == before  # only that line was added
    assert editor.get("/en/articles/refund-policy").status_code == 200
    session = next(c for c in editor.cookies.jar if c.name == "kb_session")
    editor.cookies.delete("kb_session")
    assert editor.get("/en/articles/refund-policy").status_code == 404  # signed out: not there
    editor.cookies.jar.set_cookie(session)
    # a post without the field keeps it; "public" takes the line away again
    form = form_fields(editor.get(url).text)  # the editor opens an internal article
    assert form["visibility"] == "internal"
    del form["visibility"]
    assert editor.post(url, data={**form, "action": "publish"}).status_code == 303
    assert "visibility: internal\n" in path.read_text(encoding="utf-8")
    assert editor.post(url, data={**form, "visibility": "public", "action": "publish"}).status_code == 303
    assert path.read_text(encoding="utf-8") == before
