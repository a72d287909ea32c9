"""The editors' guides are internal: a customer never sees them, signed-in staff read them with an
"Internal" badge, on a phone and on a desktop."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page

from kb.cli.main import main
from tests.admin_support import PASSWORD
from tests.browser.support import sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

GUIDE = "/en/articles/write-and-publish-an-article"


def add_analyst(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kb user add` in its own thread: Playwright keeps an event loop running in this one."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    args = ["user", "add", "ana", "--role", "analyst", "--password-stdin",
            "--data-dir", str(server.settings.data_dir), "--content-dir", str(server.settings.content_dir)]
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(main, args).result() == 0


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_see_the_internal_badge_and_customers_see_nothing(live_server: LiveServer, page: Page,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    # a customer: not on the home page, and the guide's address is a "Page not found"
    page.goto(live_server.url + "/en/", wait_until="domcontentloaded")
    assert page.get_by_text("How to write and publish an article").count() == 0
    assert page.get_by_role("link", name="Writing articles").count() == 0
    response = page.goto(live_server.url + GUIDE, wait_until="domcontentloaded")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.locator(".badge-internal").count() == 0

    add_analyst(live_server, monkeypatch)
    page.goto(live_server.url + "/admin/login?next=" + GUIDE)
    sign_in(page, "ana", then="**" + GUIDE)
    assert page.locator("h1").inner_text() == "How to write and publish an article"
    badge = page.locator(".article-header .badge-internal")
    assert badge.is_visible() and badge.inner_text().strip().lower() == "internal"
    box = badge.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # on screen
    assert page.locator("section.feedback").count() == 0
