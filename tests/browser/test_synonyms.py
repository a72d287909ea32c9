"""An editor edits synonyms in a real Chromium without JavaScript: from the menu to the French
synonyms, a preview of a query before and after the draft, then a save that the site's search
uses at once. With JavaScript, axe-core finds no violation on the page and its preview."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import add_user, axe_violations, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(module_server: LiveServer) -> LiveServer:
    """The module's own server, with the editor account "writer"."""
    add_user(module_server.settings, "writer", "editor")
    return module_server


def test_an_editor_previews_and_saves_synonyms_without_javascript(
        server: LiveServer, page_without_js: Page) -> None:
    page = page_without_js
    page.goto(server.url + "/admin/login?next=/admin/articles")
    sign_in(page, "writer", then="**/admin/articles")
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Synonyms").click()
    page.wait_for_url("**/admin/synonyms")
    page.get_by_role("link", name="Français").click()
    page.wait_for_url("**/admin/synonyms?lang=fr")

    text = page.get_by_label("Synonyms in Français (YAML)")
    text.fill(text.input_value() + "  bidule: [code vip]\n")
    page.get_by_label("Try a query").fill("bidule")
    page.get_by_role("button", name="Preview").click()
    before = page.get_by_role("region", name="Before (saved synonyms)")
    after = page.get_by_role("region", name="After (this draft)")
    assert "No result" in before.inner_text()
    assert "Code support et code VIP" in after.get_by_role("listitem").first.inner_text()

    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/admin/synonyms?lang=fr&done=synonyms")
    assert "Synonyms saved" in page.get_by_role("status").inner_text()
    page.goto(server.url + "/fr/search?q=bidule")
    assert "Code support et code VIP" in page.locator("main").inner_text()


def test_the_synonyms_page_and_its_preview_have_no_axe_violation(server: LiveServer, page: Page) -> None:
    page.goto(server.url + "/admin/login?next=/admin/synonyms?lang=fr")
    sign_in(page, "writer", then="**/admin/synonyms?lang=fr")
    assert axe_violations(page) == []
    page.get_by_label("Try a query").fill("numéro vip")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("region", name="After (this draft)").wait_for()
    assert axe_violations(page) == []
