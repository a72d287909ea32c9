"""Results in other languages and "Also answers" in Chromium on a phone (390 px): labelled,
readable without sideways scrolling, reached by clicking (no JavaScript needed), and clean for
axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import axe_violations
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.fixture
def phone_page(javascript: bool, request: pytest.FixtureRequest) -> Page:
    """A tab 390 px wide, with JavaScript or without."""
    page: Page = request.getfixturevalue("page" if javascript else "page_without_js")
    page.set_viewport_size(PHONE)
    return page


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_german_reader_finds_the_untranslated_video_labelled_in_english_and_then_what_it_also_answers(
        sample_server: LiveServer, phone_page: Page, javascript: bool) -> None:
    page = phone_page
    # The video exists in en, fr and pt only; its narrator speaks English.
    page.goto(sample_server.url + "/de/search?q=narrator")
    section = page.locator("section.elsewhere")
    expect(section.locator("h2")).to_have_text("Ergebnisse in anderen Sprachen")
    first = section.locator("li.result").first
    expect(first.locator(".badge-lang")).to_have_text("English")
    assert first.locator(".badge-lang").get_attribute("lang") == "en"
    expect(first.locator(".translation-note")).to_have_text("Noch nicht in Ihre Sprache übersetzt")
    link = first.locator("h4 a")
    assert link.get_attribute("hreflang") == "en"
    expect(section.locator("h3").first).to_have_attribute("lang", "en")  # the default language first
    fits_the_screen(page)
    if javascript:
        assert axe_violations(page, "section.elsewhere") == []
    link.click()
    page.wait_for_url("**/en/articles/video-support-code-and-vip-code?from=search")
    answers = page.locator("section.also-answers")
    expect(answers.locator("h2")).to_have_text("Also answers")
    expect(answers.locator("li").first).to_have_text("Is there a video showing where my codes are?")
    box = answers.bounding_box()
    assert box is not None and box["y"] < PHONE["height"] * 1.5  # near the top, before the video
    fits_the_screen(page)
    if javascript:
        assert axe_violations(page, "section.also-answers") == []


def test_a_portuguese_reader_who_searched_sees_also_answers_in_portuguese(sample_server: LiveServer,
                                                                          page: Page) -> None:
    page.set_viewport_size(PHONE)
    page.goto(sample_server.url + "/pt/search?q=dinheiro+de+volta")
    page.locator("ol.results h3 a").first.click()
    page.wait_for_url("**/pt/articles/suporte-premium-compromisso?from=search")
    answers = page.locator("section.also-answers")
    expect(answers.locator("h2")).to_have_text("Também responde")
    expect(answers.locator("li")).to_contain_text(["Posso cancelar o Suporte Premium antes do fim do contrato?"])
    fits_the_screen(page)
    page.goto(sample_server.url + "/pt/articles/suporte-premium-compromisso")
    expect(page.locator("section.also-answers")).to_have_count(0)  # not from a search
