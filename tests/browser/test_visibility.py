"""The editors' guides are internal: a customer never sees them, signed-in staff read them with an
"Internal" badge, on a phone and on a desktop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import add_user, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

GUIDE = "/en/articles/write-and-publish-an-article"


@pytest.fixture(scope="module")
def server(module_server: LiveServer) -> LiveServer:
    """The module's own server, with the analyst account "ana"."""
    add_user(module_server.settings, "ana", "analyst")
    return module_server


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_see_the_internal_badge_and_customers_see_nothing(server: LiveServer, page: Page,
                                                                width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    # a customer: not on the home page, and the guide's address is a "Page not found"
    page.goto(server.url + "/en/", wait_until="domcontentloaded")
    assert page.get_by_text("How to write and publish an article").count() == 0
    assert page.get_by_role("link", name="Writing articles").count() == 0
    response = page.goto(server.url + GUIDE, wait_until="domcontentloaded")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.locator(".badge-internal").count() == 0

    page.goto(server.url + "/admin/login?next=" + GUIDE)
    sign_in(page, "ana", then="**" + GUIDE)
    assert page.locator("h1").inner_text() == "How to write and publish an article"
    badge = page.locator(".article-header .badge-internal")
    assert badge.is_visible() and badge.inner_text().strip().lower() == "internal"
    box = badge.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # on screen
    assert page.locator("section.feedback").count() == 0
