"""An editor in a real Chromium: signs in, writes an article with a policy snippet, previews it,
publishes it, and finds it with the site's search."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import add_user, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(module_server: LiveServer) -> LiveServer:
    """The module's own server, with the editor account "writer"."""
    add_user(module_server.settings, "writer", "editor")
    return module_server


BODY = """## Answer

Quokkaberry orders ship from our warehouse.

Standard support costs: {{ standard.cost }}.
"""


def test_an_editor_writes_previews_publishes_and_finds_an_article(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/admin/articles/new")
    page.wait_for_url("**/admin/login?next=/admin/articles/new")
    sign_in(page, "writer", then="**/admin/articles/new")

    page.get_by_label("Title", exact=True).fill("Where do quokkaberry orders ship from?")
    page.get_by_label("Summary", exact=False).fill("The warehouse that ships quokkaberry orders.")
    page.get_by_label("Category").select_option("support-codes")
    page.get_by_label("Tags").fill("shipping")
    page.get_by_label("Body (Markdown)").fill(BODY)

    # the live preview renders with the site's renderer, the policy snippet included
    preview = page.locator("#preview-body")
    preview.get_by_text("Standard support costs").wait_for()
    page.wait_for_function("!document.querySelector('#preview-body').innerText.includes('Problems to fix')")
    assert "Standard support costs: Free." in preview.inner_text()
    assert "{{" not in preview.inner_text()
    assert "No problems found" in preview.inner_text()

    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/admin/articles/en/where-do-quokkaberry-orders-ship-from?done=publish")
    assert page.get_by_role("status").inner_text() == "Published: the change is live."

    page.goto(server.url + "/en/")
    page.locator("form[role=search] input[name=q]").first.fill("quokkaberry")
    page.locator("form[role=search] input[name=q]").first.press("Enter")
    page.wait_for_url("**/en/search?q=quokkaberry*")
    page.get_by_role("link", name="Where do quokkaberry orders ship from?").first.click()
    page.wait_for_url("**/en/articles/where-do-quokkaberry-orders-ship-from*")
    assert page.locator("h1").inner_text() == "Where do quokkaberry orders ship from?"
    assert "Standard support costs: Free." in page.locator(".article-body").inner_text()


def test_the_editor_previews_without_javascript(server: LiveServer, page_without_js: Page) -> None:
    page = page_without_js
    page.goto(server.url + "/admin/login?next=/admin/articles/en/how-to-search")
    sign_in(page, "writer", then="**/admin/articles/en/how-to-search")
    page.get_by_label("Body (Markdown)").fill("## Tip\n\nType two words, not one.\n")
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview-body h2#tip").wait_for()
    assert page.get_by_label("Body (Markdown)").input_value() == "## Tip\n\nType two words, not one.\n"
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/admin/articles/en/how-to-search?done=draft")
    # a published article's draft waits: readers still see the live text
    page.goto(server.url + "/en/articles/how-to-search")
    assert "Type two words, not one." not in page.locator(".article-body").inner_text()
