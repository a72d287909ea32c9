"""A person browsing the site in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_visitor_goes_from_the_home_page_to_an_article(sample_server: LiveServer, page: Page) -> None:
    page.goto(sample_server.url + "/", wait_until="domcontentloaded")
    assert page.url == sample_server.url + "/en/"
    assert page.locator("h1").inner_text() == "Knowledge base"
    page.get_by_role("link", name="Contacting Support").click()
    page.wait_for_url("**/en/support-codes/")
    assert page.locator("h1").inner_text() == "Contacting Support"
    page.locator("article.faq-entry summary").first.click()  # the answer opens in place
    page.get_by_role("link", name="Open on its own page").first.click()
    page.wait_for_url("**/en/articles/support-code-and-vip-code")
    assert "VIP code" in page.locator("h1").inner_text()
    assert page.locator(".article-body").inner_text().strip()
    assert page.get_by_role("navigation", name="Breadcrumbs").is_visible()
    # keyboard users reach the skip link first
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"


def test_a_visitor_switches_the_article_to_portuguese(sample_server: LiveServer, page: Page) -> None:
    page.goto(sample_server.url + "/en/articles/support-code-and-vip-code")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Português").click()
    page.wait_for_url("**/pt/articles/codigo-de-suporte-e-codigo-vip")
    assert page.locator("html").get_attribute("lang") == "pt"
