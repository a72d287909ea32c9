"""Issue 14's pages, server side: the home page's one search box and category cards, the FAQ
accordion and its ?open= links, "Contact support" after a No, scrolling tables, the video's one
"Transcript", the copy-link permalinks and the favicon."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.web.urls import support_link
from tests.conftest import ContentTree, MakeClient


def soup(response: Any) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def test_home_has_one_named_search_box_and_a_tagline(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/"))
    forms = page.select("[role=search]")
    assert len(forms) == 1 and forms[0]["aria-label"] == "Search the knowledge base"
    assert page.select_one(".site-header [role=search]") is None
    assert page.select_one(".tagline").get_text() == "How can we help? Search our answers or pick a topic below."


def test_a_page_with_two_search_boxes_names_them_apart(sample_client: TestClient) -> None:
    page = BeautifulSoup(sample_client.get("/en/articles/nope").text, "html.parser")  # the 404 page
    names = [form["aria-label"] for form in page.select("[role=search]")]
    assert names == ["Site search", "Search the knowledge base"]


def test_home_cards_have_an_icon_one_link_a_count_and_top_questions(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/"))
    cards = {card.select_one(".card-link")["href"]: card for card in page.select(".category-cards .card")}
    premium = cards["/en/premium-support/"]
    assert premium.select_one("svg.card-icon")["aria-hidden"] == "true"
    assert re.fullmatch(r"/static/icons\.svg\?v=[0-9a-f]{12}#icon-star", premium.select_one("svg use")["href"])
    assert cards["/en/support-codes/"].select_one("svg use")["href"].endswith("#icon-key")
    assert len(premium.select(".card-link")) == 1
    assert premium.select_one(".count").get_text() == "3 articles"
    questions = {a.get_text(): a["href"] for a in premium.select(".card-questions a")}
    assert questions == {
        "Limits of the assistance given with Premium Support": "/en/premium-support/?open=2#faq-2",
        "Premium Support: commitment, cancellation and refunds": "/en/premium-support/?open=1#faq-1",
    }


def test_recently_updated_shows_each_articles_date(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/fr/"))
    items = page.select("section[aria-labelledby=recent-title] li")
    assert items
    for item in items:
        time = item.select_one("time")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", time["datetime"]) and time.get_text().strip()
    assert "novembre 2026" in items[0].select_one("time").get_text()


def test_category_faqs_are_closed_questions_until_one_is_asked_open(make_client: MakeClient, tree: ContentTree) -> None:
    for number in range(1, 6):
        tree.add("en", f"question-{number}", id=number, updated=f"2026-01-0{number}", body="## Details\n\nText.")
    client = make_client(tree.root, page_size=2)
    page = soup(client.get("/en/billing/"))
    entries = page.select("article.faq-entry")
    assert [e["id"] for e in entries] == ["faq-5", "faq-4"]
    for entry in entries:
        details = entry.select_one("details.faq-details")
        assert not details.has_attr("open")
        assert details.select_one("summary > h2").get_text() == entry.select_one("h2").get_text()
        assert details.select_one(".faq-answer .article-body h3").get_text() == "Details"  # nested, prefixed
        assert details.select_one(".faq-answer section.feedback") is not None
    # ?open= opens that one, on the page holding it (question 1 is on page 3 of 3)
    opened = soup(client.get("/en/billing/?open=1"))
    assert [e["id"] for e in opened.select("article.faq-entry")] == ["faq-1"]
    assert opened.select_one("#faq-1 details").has_attr("open")
    assert "Page 3 of 3" in opened.select_one(".pagination").get_text()
    assert opened.select_one("link[rel=canonical]")["href"].endswith("/en/billing/?page=3")
    both = soup(client.get("/en/billing/?open=4"))
    assert [e.select_one("details").has_attr("open") for e in both.select("article.faq-entry")] == [False, True]
    # an id not in this category opens nothing; a bad one is a clear 400
    assert not soup(client.get("/en/billing/?open=99")).select("details[open]")
    bad = client.get("/en/billing/?open=abc")
    assert bad.status_code == 400 and "open must be a whole number" in bad.text


def test_link_to_this_faq_and_its_own_page(sample_client: TestClient) -> None:
    entry = soup(sample_client.get("/pt/premium-support/")).select_one("article.faq-entry")
    faq_id = entry["id"].removeprefix("faq-")
    link = entry.select_one(".share a.copy-link")
    assert link["href"] == f"/pt/premium-support/?open={faq_id}#faq-{faq_id}"
    own = [a for a in entry.select(".share a") if a.get_text() == "Abrir em página própria"]
    assert own and own[0]["href"].startswith("/pt/articles/")


def test_articles_link_to_their_permalink_and_carry_the_copy_labels(sample_client: TestClient) -> None:
    faq = soup(sample_client.get("/fr/articles/code-support-et-code-vip"))
    assert faq.select_one(".share a.copy-link")["href"] == "/faq/3"
    assert faq.select_one(".share a.copy-link").get_text() == "Lien vers cette FAQ"
    assert faq.body["data-copy-label"] == "Copier le lien" and faq.body["data-copied"] == "Lien copié"
    tutorial = soup(sample_client.get("/en/articles/upgrade-premium-support"))
    assert tutorial.select_one(".share a.copy-link").get_text() == "Link to this article"


def _vote_no(client: TestClient, path: str) -> BeautifulSoup:
    page = soup(client.get(path))
    token = page.select_one("form.feedback-vote input[name=csrf_token]")["value"]
    slug = path.rsplit("/", 1)[1]
    answer = client.post(f"/en/articles/{slug}/feedback", data={"csrf_token": token, "helpful": "no", "next": path})
    assert answer.status_code == 303
    return soup(client.get(path))


def test_contact_support_after_a_no_names_the_article_in_a_mail_subject(client: TestClient) -> None:
    path = "/en/articles/support-code-and-vip-code"
    before = soup(client.get(path)).select_one(".feedback-support")
    assert before.has_attr("hidden")  # no vote yet: nothing to offer
    after = _vote_no(client, path)
    support = after.select_one("section.feedback .feedback-support")
    assert not support.has_attr("hidden") and "Still need help?" in support.get_text()
    link = support.select_one("a")
    title = after.select_one("h1").get_text()
    assert link.get_text() == "Contact support"
    assert link["href"].startswith("mailto:support@example.com?subject=")
    assert unquote(link["href"].split("subject=", 1)[1]) == title
    assert "%20" in link["href"] and "+" not in link["href"]


def test_contact_support_on_a_web_form_gets_a_subject_parameter(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "refunds-and-you", id=1, title="Refunds & you?")
    client = make_client(tree.root, support_url="https://help.example.com/contact?team=billing")
    page = _vote_no(client, "/en/articles/refunds-and-you")
    href = page.select_one(".feedback-support a")["href"]
    parts = urlsplit(href)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "help.example.com", "/contact")
    assert parse_qs(parts.query) == {"team": ["billing"], "subject": ["Refunds & you?"]}


@pytest.mark.parametrize(("url", "expected"), [
    ("mailto:help@example.com", "mailto:help@example.com?subject=A%20%26%20B%3F"),
    ("mailto:help@example.com?cc=x@example.com", "mailto:help@example.com?cc=x@example.com&subject=A%20%26%20B%3F"),
    ("https://example.com/c?subject=old&x=1", "https://example.com/c?x=1&subject=A+%26+B%3F"),
    ("tel:+41000000", "tel:+41000000"),
])
def test_support_link_adds_the_subject_the_way_each_scheme_takes_it(url: str, expected: str) -> None:
    assert support_link(url, "A & B?") == expected


def test_wide_tables_scroll_in_a_focusable_named_region(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("fr", "tarifs", id=1, category="billing", body="| a | b |\n|---|--:|\n| 1 | 2 |\n")
    client = make_client(tree.root)
    region = soup(client.get("/fr/articles/tarifs")).select_one(".article-body .table-scroll")
    assert region["role"] == "region" and region["tabindex"] == "0" and region["aria-label"] == "Tableau défilant"
    assert region.select_one("table td.align-right") is not None


def test_the_policy_comparison_table_scrolls_in_a_region_named_by_its_caption(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/articles/upgrade-premium-support"))
    regions = page.select(".policy-comparison .table-scroll")
    assert regions
    for region in regions:
        caption = region.select_one("table caption")
        assert region["role"] == "region" and region["tabindex"] == "0"
        assert region["aria-labelledby"] == caption["id"]


def test_the_video_page_says_transcript_once(sample_client: TestClient) -> None:
    for path, word in [("/en/articles/video-support-code-and-vip-code", "Transcript"),
                       ("/fr/articles/video-code-support-et-code-vip", "Transcription")]:
        page = soup(sample_client.get(path))
        headings = [h.get_text() for h in page.select("main h1, main h2, main h3")]
        assert headings.count(word) == 1, headings


def test_the_favicon_is_a_hashed_svg(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/"))
    icon = page.select_one("link[rel=icon]")
    assert icon["type"] == "image/svg+xml"
    assert re.fullmatch(r"/static/favicon\.svg\?v=[0-9a-f]{12}", icon["href"])
    served = sample_client.get(icon["href"])
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/svg+xml")
    assert "immutable" in served.headers["cache-control"]
