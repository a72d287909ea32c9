"""A visitor searching in a real Chromium: suggestions as they type, then the results page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import type_query
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_misspelled_query_suggests_the_article_and_the_keyboard_picks_it(sample_server: LiveServer, page: Page) -> None:
    page.goto(sample_server.url + "/en/")
    box = page.locator("#search-q-hero")
    assert box.get_attribute("role") == "combobox" and box.get_attribute("aria-expanded") == "false"
    listbox = type_query(box, "suport cod")
    option = listbox.get_by_role("option", name="Support code and VIP code: where to find them")
    option.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    count = listbox.get_by_role("option").count()
    assert 2 <= count <= 9  # up to 8 titles, then "See all results for …"
    titles = listbox.locator(".suggestion-title").all_inner_texts()
    target = titles.index("Support code and VIP code: where to find them")
    for _ in range(target + 1):
        box.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active and page.locator("#" + active).get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and box.input_value() == "suport cod"
    box.press("ArrowDown")  # opens again
    option.wait_for()
    for _ in range(target + 1):
        box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url("**/en/articles/support-code-and-vip-code")
    assert "VIP code" in page.locator("h1").inner_text()


def test_a_suggestion_can_be_clicked(sample_server: LiveServer, page: Page) -> None:
    page.goto(sample_server.url + "/en/articles/article-feedback")
    box = page.locator("#search-q-header")
    box.fill("upgr")
    page.get_by_role("option", name="How to upgrade your Premium Support offer").click()
    page.wait_for_url("**/en/articles/upgrade-premium-support")


def test_enter_without_a_chosen_suggestion_shows_the_results_page(sample_server: LiveServer, page: Page) -> None:
    page.goto(sample_server.url + "/en/")
    box = page.locator("#search-q-hero")
    box.fill("premum suport")
    box.press("Enter")
    page.wait_for_url("**/en/search?q=premum+suport")
    assert page.locator(".did-you-mean a").inner_text() == "premium support"
    page.locator("ol.results a").first.click()
    page.wait_for_url("**/en/articles/**")


def test_search_works_without_javascript(sample_server: LiveServer, page_without_js: Page) -> None:
    page = page_without_js
    page.goto(sample_server.url + "/fr/")
    page.locator("#search-q-hero").fill("remboursé")
    page.locator("#search-q-hero").press("Enter")
    page.wait_for_url("**/fr/search?q=rembours*")
    first = page.locator("ol.results a").first
    assert "remboursement" in first.inner_text().lower()
    page.get_by_role("link", name="FAQ").first.click()  # a type facet
    assert "type=faq" in page.url
    first = page.locator("ol.results a").first
    first.click()
    page.wait_for_url("**/fr/articles/**")
