"""An editor sees content health in a real Chromium: the page is reachable from the menu, lists
a stale article with its flag, filters by flag, leads to the editor, and has no axe violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.support import add_user, axe_violations, sign_in
from tests.conftest import LiveServer, settings_for

pytestmark = pytest.mark.browser

STALE = "en/support-codes/support-code-and-vip-code.md"


@pytest.fixture
def stale_server(tmp_path: Path, sample_tree: Path) -> Iterator[LiveServer]:
    """The sample site with one article last updated in 2020: flagged "not reviewed"."""
    path = sample_tree / STALE
    path.write_text(re.sub(r"(?m)^updated: .*$", "updated: 2020-01-01", path.read_text(encoding="utf-8")),
                    encoding="utf-8")
    with LiveServer(settings_for(tmp_path, sample_tree)) as server:
        yield server


def test_the_health_page_lists_flagged_articles_and_passes_axe(stale_server: LiveServer, page: Page) -> None:
    add_user(stale_server.settings, "writer", "editor")
    page.goto(stale_server.url + "/admin/login?next=/admin/articles")
    sign_in(page, "writer", then="**/admin/articles")
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Content health").click()
    page.wait_for_url("**/admin/health")
    assert page.locator("h1").inner_text() == "Content health"
    row = page.locator("tbody tr[data-slug=support-code-and-vip-code]")
    assert "Not reviewed" in row.inner_text()

    assert axe_violations(page) == []

    page.get_by_label("Flag", exact=True).select_option("broken_links")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/health?flag=broken_links*")
    assert page.locator("tbody tr[data-slug=support-code-and-vip-code]").count() == 0

    page.get_by_label("Flag", exact=True).select_option("not_reviewed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/health?flag=not_reviewed*")
    page.locator("tbody tr[data-slug=support-code-and-vip-code] a").first.click()
    page.wait_for_url("**/admin/articles/en/support-code-and-vip-code")
    assert "Not reviewed" in page.locator(".health-panel").inner_text()
    assert axe_violations(page, ".health-panel") == []
    page.get_by_label("Review note (optional)").fill("checked against the policy")
    page.get_by_role("button", name="Mark reviewed").click()
    page.wait_for_url("**/admin/articles/en/support-code-and-vip-code?done=reviewed")
    assert "No flag" in page.locator(".health-panel").inner_text()
