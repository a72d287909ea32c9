"""The admin pages in Chromium, on a phone (390 px) and a desktop (1280 px): axe-core finds no
violation, of any impact, on any of them, and on the same visits the articles list's filter
controls line up, categories show their titles, and the analytics chart's labels stay readable.

axe-core comes from the axe-playwright-python package (it ships axe.min.js): axe runs inside the
page, and every violation is listed with the nodes it found and what fails there, so a failure
says what to fix (tests.browser.support.axe_violations).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import VIEWPORTS, add_user, axe_violations, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(module_server: LiveServer) -> LiveServer:
    """The module's own server, with the admin account "boss"."""
    add_user(module_server.settings, "boss", "admin")
    return module_server


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_admin_pages_have_no_axe_violation_aligned_filters_category_titles_and_readable_chart_labels(
        server: LiveServer, sized_page: Page) -> None:
    page = sized_page
    width = page.viewport_size["width"] if page.viewport_size else 0
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        if problems := axe_violations(page):
            found[name] = problems

    page.goto(server.url + "/admin/login")
    check("login")
    sign_in(page, "boss", then="**/admin**")
    page.goto(server.url + "/admin/articles")
    check("articles list")
    filters_line_up_and_categories_show_titles(page, width)
    page.goto(server.url + "/admin/articles/en/how-to-search")
    check("editor")
    page.get_by_label("Body (Markdown)").fill("## Tip\n\nType two words, not one.\n")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/admin/articles/en/how-to-search**")
    page.get_by_label("Body (Markdown)").fill("## Tip\n\nType three words, not one.\n")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/admin/articles/en/how-to-search**")
    page.goto(server.url + "/admin/history/en/4")
    check("history")
    page.get_by_role("button", name="Compare the selected revisions").click()
    page.wait_for_url("**/diff?**")
    check("diff")
    page.goto(server.url + "/admin/users")
    check("users")
    page.goto(server.url + "/admin/analytics")
    check("analytics dashboard")
    chart_labels_are_readable(page, width)
    page.goto(server.url + "/admin/analytics/articles/4")
    check("analytics drill-down")
    assert not found, "\n".join(f"{width} px, {name}: {v}" for name, problems in found.items() for v in problems)


def filters_line_up_and_categories_show_titles(page: Page, width: int) -> None:
    """/admin/articles: the filter controls on one line share their top and their height (all on
    one line on a desktop); a category is shown by its title, a type by its name."""
    controls = page.locator("form.filters input, form.filters select, form.filters button")
    boxes = [b for b in (controls.nth(i).bounding_box() for i in range(controls.count())) if b]
    assert len(boxes) == 6, f"{width} px: {len(boxes)} filter controls"
    rows: dict[float, list[float]] = {}
    for box in boxes:
        rows.setdefault(round(box["y"]), []).append(round(box["height"]))
    assert all(len(set(heights)) == 1 for heights in rows.values()), f"{width} px: filter rows {rows}"
    if width >= 1000:
        assert len(rows) == 1, f"{width} px: filter rows {rows}"
    assert page.locator("#filter-category option", has_text="Contacting Support").count() == 1
    row = page.locator("tr[data-slug='support-code-and-vip-code']")
    assert "Contacting Support" in row.inner_text() and "support-codes" not in row.inner_text()
    assert "FAQ" in row.inner_text()


def chart_labels_are_readable(page: Page, width: int) -> None:
    """/admin/analytics: the chart's axis labels, drawn at 12 px, are about 14 px tall, not 4."""
    labels = page.locator(".chart text.chart-axis")
    assert labels.count() > 3, f"{width} px: {labels.count()} chart labels"
    heights = [b["height"] for b in (labels.nth(i).bounding_box() for i in range(labels.count())) if b]
    assert min(heights) >= 11, f"{width} px: chart label heights {heights}"
