"""A reader answers "Was this article helpful?" in a real Chromium, with and without JavaScript."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

ARTICLE = "/en/articles/support-code-and-vip-code"
WIDGET = "section.feedback#feedback-3"


def stored_vote(server: LiveServer, page: Page) -> dict[str, Any]:
    """The vote as the API reports it to this browser (same visitor cookie)."""
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "kb_visitor")
    response = httpx.get(server.url + "/api/v1/articles/en/support-code-and-vip-code/votes",
                         headers={"Cookie": f"kb_visitor={cookie}"})
    return response.json()["vote"]


def test_no_reason_and_comment_in_place_with_javascript(module_server: LiveServer, page: Page) -> None:
    page.goto(module_server.url + ARTICLE)
    widget = page.locator(WIDGET)
    page.evaluate("window.notReloaded = true")
    widget.get_by_role("button", name="No").click()
    status = widget.get_by_role("status")
    status.filter(has_text="Can you tell us what went wrong?").wait_for()
    assert widget.get_by_role("button", name="No").get_attribute("aria-pressed") == "true"
    widget.get_by_label("It's hard to understand").check()
    widget.get_by_label("Tell us more (optional)").fill("The <b>VIP</b> part lost me.")
    widget.get_by_role("button", name="Send").click()
    status.filter(has_text="Thank you! Your comments will help us improve this article.").wait_for()
    assert page.evaluate("window.notReloaded") is True  # in place: no reload, no navigation
    assert page.url == module_server.url + ARTICLE
    assert widget.locator("form.feedback-details").is_hidden()
    assert widget.locator(".feedback-summary-comment").inner_text() == "The <b>VIP</b> part lost me."
    assert stored_vote(module_server, page) | {"revision": "", "created_at": "", "updated_at": ""} == {
        "helpful": False, "reason": "hard_to_understand", "comment": "The <b>VIP</b> part lost me.",
        "revision": "", "created_at": "", "updated_at": ""}
    # on return the widget shows the visitor's vote
    page.reload()
    assert widget.get_by_role("button", name="No").get_attribute("aria-pressed") == "true"
    assert "Your comments will help" in widget.get_by_role("status").inner_text()


def test_no_reason_and_comment_without_javascript(module_server: LiveServer, page_without_js: Page) -> None:
    page = page_without_js
    page.goto(module_server.url + ARTICLE)
    widget = page.locator(WIDGET)
    assert widget.locator("form.feedback-details").is_hidden()
    widget.get_by_role("button", name="No").click()
    page.wait_for_url(f"**{ARTICLE}#feedback-3")
    assert "Can you tell us what went wrong?" in widget.get_by_role("status").inner_text()
    widget.get_by_label("It's incorrect or out of date").check()
    widget.get_by_label("Tell us more (optional)").fill("The menu is now called Support.")
    widget.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    widget.get_by_role("status").filter(has_text="Thank you! Your comments will help us improve this article.").wait_for()
    assert widget.get_by_role("button", name="No").get_attribute("aria-pressed") == "true"
    assert stored_vote(module_server, page)["reason"] == "incorrect"
    assert stored_vote(module_server, page)["comment"] == "The menu is now called Support."


def test_voting_from_the_keyboard_on_a_category_page(module_server: LiveServer, page: Page) -> None:
    page.goto(module_server.url + "/en/support-codes/")
    page.locator("article.faq-entry summary").first.focus()
    page.keyboard.press("Enter")  # the FAQs are an accordion: open the answer first
    widget = page.locator("article.faq-entry section.feedback").first
    yes = widget.get_by_role("button", name="Yes")
    yes.focus()
    page.keyboard.press("Enter")
    widget.get_by_role("status").filter(has_text="Thank you for your feedback!").wait_for()
    assert yes.get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.activeElement.textContent") == "Yes"  # focus stays put
    # changing the answer with the keyboard opens the optional follow-up and moves focus into it
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    widget.get_by_role("status").filter(has_text="Can you tell us what went wrong?").wait_for()
    assert page.evaluate("document.activeElement.tagName") == "FIELDSET"
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the first reason
    assert widget.get_by_label("It didn't answer my question").is_checked()
