"""Issue 14's pages in Chromium at a phone's (390 px) and a desktop's (1280 px) width: the home
page's one search box and whole-card links, the FAQ accordion with and without JavaScript, Copy
link, Contact support after a No, and printing an article alone. (axe-core finding nothing on these
pages, at both widths and with an answer open, is checked on the visits of test_public_pages.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

WIDTHS = [390, 1280]
FAQ = "/en/articles/support-code-and-vip-code"


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def width(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def sized(page: Page, width: int) -> Page:
    page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
    return page


@pytest.fixture
def clipboard_page(page: Page) -> Page:
    """A tab allowed to read and write the clipboard (the permission ends with the test)."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    return page


def test_home_has_one_search_landmark_and_cards_open_as_a_whole(sample_server: LiveServer, page: Page, width: int) -> None:
    sized(page, width).goto(sample_server.url + "/en/")
    expect(page.get_by_role("search")).to_have_count(1)
    card = page.locator(".card").filter(has=page.get_by_role("link", name="Premium Support", exact=True))
    expect(card.locator("a.card-link")).to_have_count(1)
    expect(card.locator("svg.card-icon")).to_be_visible()
    # a click on the count (not a link itself) lands on the link stretched over the card
    card.locator(".count").click(force=True)
    page.wait_for_url("**/en/premium-support/")


def test_a_top_question_on_a_card_opens_that_faq(sample_server: LiveServer, page: Page, width: int) -> None:
    sized(page, width).goto(sample_server.url + "/en/")
    page.locator(".card-questions").get_by_role("link", name="Limits of the assistance given with Premium Support").click()
    page.wait_for_url("**/en/premium-support/?open=2#faq-2")
    expect(page.locator("#faq-2 details")).to_have_attribute("open", "")
    expect(page.locator("#faq-1 details")).not_to_have_attribute("open", "")


def _accordion(page: Page) -> None:
    entry = page.locator("#faq-1")
    answer = entry.locator(".faq-answer")
    expect(answer).to_be_hidden()
    entry.locator("summary").click()
    expect(answer).to_be_visible()
    entry.locator("summary").click()
    expect(answer).to_be_hidden()


def test_the_accordion_opens_and_closes_with_javascript(sample_server: LiveServer, page: Page, width: int) -> None:
    sized(page, width).goto(sample_server.url + "/en/premium-support/")
    _accordion(page)
    # the summary is keyboard-operable
    page.locator("#faq-2 summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#faq-2 .faq-answer")).to_be_visible()


def test_the_accordion_works_without_javascript(sample_server: LiveServer, page_without_js: Page, width: int) -> None:
    page = sized(page_without_js, width)
    page.goto(sample_server.url + "/en/premium-support/")
    _accordion(page)
    page.locator("#faq-1 summary").click()
    page.get_by_role("link", name="Link to this FAQ").first.click()  # a page load, ?open=1
    page.wait_for_url("**/en/premium-support/?open=1#faq-1")
    expect(page.locator("#faq-1 .faq-answer")).to_be_visible()


def test_link_to_this_faq_opens_it_in_place_without_a_reload(sample_server: LiveServer, page: Page, width: int) -> None:
    sized(page, width).goto(sample_server.url + "/en/premium-support/?open=1")
    page.evaluate("window.notReloaded = true")
    page.locator("#faq-1 .faq-answer").get_by_role("link", name="Link to this FAQ").click()
    expect(page).to_have_url(sample_server.url + "/en/premium-support/?open=1#faq-1")
    assert page.evaluate("window.notReloaded") is True
    # a fragment typed or shared opens its question too
    page.goto(sample_server.url + "/en/premium-support/#faq-2")
    expect(page.locator("#faq-2 .faq-answer")).to_be_visible()


def test_copy_link_copies_the_permalink_and_says_so(sample_server: LiveServer, clipboard_page: Page, width: int) -> None:
    page = sized(clipboard_page, width)
    page.goto(sample_server.url + FAQ)
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator(".share [role=status]")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == sample_server.url + "/faq/3"
    # on a category page, the FAQ's own link
    page.goto(sample_server.url + "/en/premium-support/?open=2")
    page.locator("#faq-2").get_by_role("button", name="Copy link").click()
    expect(page.locator("#faq-2 .share [role=status]")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == sample_server.url + "/en/premium-support/?open=2#faq-2"


def test_without_javascript_copy_link_is_a_plain_permalink(sample_server: LiveServer, page_without_js: Page, width: int) -> None:
    page = sized(page_without_js, width)
    page.goto(sample_server.url + FAQ)
    expect(page.get_by_role("button", name="Copy link")).to_have_count(0)
    page.get_by_role("link", name="Link to this FAQ").click()
    page.wait_for_url("**" + FAQ)


def _expect_support_link(page: Page) -> None:
    link = page.locator("section.feedback").get_by_role("link", name="Contact support")
    expect(link).to_be_visible()
    href = link.get_attribute("href") or ""
    assert href.startswith("mailto:support@example.com?subject=Support%20code%20and%20VIP%20code"), href


def test_contact_support_appears_after_no_in_place(module_server: LiveServer, page: Page, width: int) -> None:
    sized(page, width).goto(module_server.url + FAQ)
    support = page.locator("section.feedback").get_by_role("link", name="Contact support")
    expect(support).to_be_hidden()
    page.locator("section.feedback").get_by_role("button", name="No").click()
    _expect_support_link(page)
    page.locator("section.feedback").get_by_role("button", name="Yes").click()
    expect(support).to_be_hidden()


def test_contact_support_appears_after_no_without_javascript(module_server: LiveServer, page_without_js: Page, width: int) -> None:
    page = sized(page_without_js, width)
    page.goto(module_server.url + FAQ)
    page.locator("section.feedback").get_by_role("button", name="No").click()
    page.wait_for_url("**#feedback-3")
    _expect_support_link(page)


def test_an_article_prints_alone(sample_server: LiveServer, page: Page, width: int) -> None:
    sized(page, width).goto(sample_server.url + FAQ)
    page.emulate_media(media="print")
    for chrome in [".site-header", ".site-footer", ".sidebar", "section.feedback", ".breadcrumbs", ".share",
                   "[role=search]", ".toc"]:
        for element in page.locator(chrome).all():
            expect(element).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".article-body").first).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.locator(".site-header")).to_be_visible()


def test_a_wide_table_scrolls_in_its_own_focusable_region(sample_server: LiveServer, page: Page) -> None:
    sized(page, 390).goto(sample_server.url + "/en/articles/upgrade-premium-support")
    region = page.locator(".table-scroll").first
    region.focus()
    assert page.evaluate("document.activeElement.classList.contains('table-scroll')")
    sizes: Any = region.evaluate("r => [r.scrollWidth, r.clientWidth]")
    assert sizes[0] > sizes[1]  # wider than a phone: it scrolls, inside the region only
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

