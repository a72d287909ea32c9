"""The admin pages at 390 px and 1280 px: filter controls on one line, categories by title,
and an analytics chart whose labels stay readable on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import sign_in
from tests.browser.test_accessibility import VIEWPORTS, add_admin
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def sign_in_as_admin(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/admin/login")
    sign_in(page, "boss", then="**/admin**")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_admin_filters_align_categories_show_titles_and_chart_labels_are_readable(
        live_server: LiveServer, page: Page, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    add_admin(live_server, monkeypatch)
    sign_in_as_admin(page, live_server)
    page.goto(live_server.url + "/admin/articles")
    controls = page.locator("form.filters input, form.filters select, form.filters button")
    boxes = [b for b in (controls.nth(i).bounding_box() for i in range(controls.count())) if b]
    assert len(boxes) == 6
    rows: dict[float, list[float]] = {}
    for box in boxes:  # controls on one line share their top and their height
        rows.setdefault(round(box["y"]), []).append(round(box["height"]))
    assert all(len(set(heights)) == 1 for heights in rows.values()), rows
    if size[0] >= 1000:
        assert len(rows) == 1, rows
    assert page.locator("#filter-category option", has_text="Contacting Support").count() == 1
    row = page.locator("tr[data-slug='support-code-and-vip-code']")
    assert "Contacting Support" in row.inner_text() and "support-codes" not in row.inner_text()
    assert "FAQ" in row.inner_text()
    page.goto(live_server.url + "/admin/analytics")
    labels = page.locator(".chart text.chart-axis")
    assert labels.count() > 3
    heights = [b["height"] for b in (labels.nth(i).bounding_box() for i in range(labels.count())) if b]
    assert min(heights) >= 11, heights  # drawn at 12 px: the text is about 14 px tall, not 4
