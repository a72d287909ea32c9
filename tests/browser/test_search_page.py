"""The search page and the suggestions in Chromium, on a phone (390 px) and a desktop (1280 px)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.support import VIEWPORTS, type_query
from tests.conftest import ContentTree, LiveServer, settings_for

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", VIEWPORTS)
def test_results_come_first_and_the_filters_fold_on_a_phone(sample_server: LiveServer, page: Page,
                                                            size: tuple[int, int]) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(sample_server.url + "/en/search?q=premium+support")
    first = page.locator("ol.results > li").first.bounding_box()
    count = page.locator(".search-total").bounding_box()
    assert first is not None and count is not None
    assert count["y"] < first["y"] < size[1] * 0.6  # the first result is well within the first screen
    summary = page.locator("details.facets > summary")
    category_link = page.locator("details.facets a", has_text="Contacting Support").first
    if size[0] < 600:
        assert summary.is_visible() and not category_link.is_visible()
        summary.click()
        assert category_link.is_visible()
    else:
        assert not summary.is_visible() and category_link.is_visible()
        box = category_link.bounding_box()
        assert box is not None and box["x"] + box["width"] < first["x"]  # beside the results
    category_link.click()
    page.wait_for_url("**/en/search?q=premium+support&category=support-codes")
    assert "support-codes" not in page.locator(".search-total").inner_text()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_switching_language_keeps_the_search(sample_server: LiveServer, page: Page, size: tuple[int, int]) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(sample_server.url + "/en/search?q=vip+code")
    page.locator('.languages a[hreflang="fr"]').click()
    page.wait_for_url("**/fr/search?q=vip+code")
    assert page.locator("#search-q-page").input_value() == "vip code"
    assert page.locator("ol.results > li").count() >= 1


@pytest.mark.parametrize("size", VIEWPORTS)
def test_suggestions_show_type_category_marked_words_and_see_all(sample_server: LiveServer, page: Page,
                                                                 size: tuple[int, int]) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(sample_server.url + "/en/search")
    box = page.locator("#search-q-page")
    listbox = type_query(box, "vip cod")
    option = listbox.get_by_role("option").filter(has_text="Support code and VIP code: where to find them")
    option.wait_for()
    assert option.locator(".suggestion-meta").inner_text() == "FAQ · Contacting Support"
    assert option.locator("mark").all_inner_texts() == ["cod", "VIP", "cod"]  # Support *cod*e and *VIP* *cod*e
    last = listbox.get_by_role("option").last
    assert last.inner_text() == "See all results for “vip cod”"
    assert last.is_visible() and (last.bounding_box() or {"width": 0})["width"] <= size[0]
    box.press("ArrowUp")  # from the box, up goes to the last option
    assert box.get_attribute("aria-activedescendant") == last.get_attribute("id")
    box.press("Enter")
    page.wait_for_url("**/en/search?q=vip+cod")
    assert page.locator("ol.results > li").count() >= 1


def test_a_title_with_markup_is_shown_as_text(tmp_path: Path, tree: ContentTree, page: Page) -> None:
    tree.add("en", "odd", id=1, title='Refunds <img src=x onerror="document.title=1"> & <b>more</b>')
    with LiveServer(settings_for(tmp_path, tree.root)) as server:
        page.goto(server.url + "/en/search")
        box = page.locator("#search-q-page")
        option = type_query(box, "refu").get_by_role("option").first
        assert option.locator(".suggestion-title").inner_text() == 'Refunds <img src=x onerror="document.title=1"> & <b>more</b>'
        assert option.locator("img, b").count() == 0
        assert option.locator("mark").all_inner_texts() == ["Refu"]
