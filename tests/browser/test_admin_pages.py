"""axe-core finds no violation, of any impact, on the admin pages and the search page, on a
phone (390 px) and a desktop (1280 px).

axe-core comes from the axe-playwright-python package (it ships axe.min.js): the page is
loaded in Debian's Chromium, axe runs inside it, and every violation is listed with the nodes
it found, so a failure says what to fix.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from kb.cli.main import main
from tests.admin_support import PASSWORD
from tests.browser.support import sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

VIEWPORTS = [pytest.param((390, 844), id="phone"), pytest.param((1280, 800), id="desktop")]
AXE = Axe()


def violations(page: Page) -> list[str]:
    """Each violation as 'rule (impact): help — the first nodes it names'."""
    found: list[dict[str, Any]] = AXE.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                        for n in v["nodes"][:4])
            for v in found]


def add_admin(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kb user add` in its own thread: Playwright keeps an event loop running in this one."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    settings = live_server.settings
    args = ["user", "add", "boss", "--role", "admin", "--password-stdin",
            "--data-dir", str(settings.data_dir), "--content-dir", str(settings.content_dir)]
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(main, args).result() == 0


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_admin_pages_have_no_axe_violation(live_server: LiveServer, sized_page: Page,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    page = sized_page
    add_admin(live_server, monkeypatch)
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        if problems := violations(page):
            found[name] = problems

    page.goto(live_server.url + "/admin/login")
    check("login")
    sign_in(page, "boss", then="**/admin**")
    page.goto(live_server.url + "/admin/articles")
    check("articles list")
    page.goto(live_server.url + "/admin/articles/en/how-to-search")
    check("editor")
    page.get_by_label("Body (Markdown)").fill("## Tip\n\nType two words, not one.\n")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/admin/articles/en/how-to-search**")
    page.get_by_label("Body (Markdown)").fill("## Tip\n\nType three words, not one.\n")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/admin/articles/en/how-to-search**")
    page.goto(live_server.url + "/admin/history/en/4")
    check("history")
    page.get_by_role("button", name="Compare the selected revisions").click()
    page.wait_for_url("**/diff?**")
    check("diff")
    page.goto(live_server.url + "/admin/users")
    check("users")
    page.goto(live_server.url + "/admin/analytics")
    check("analytics dashboard")
    page.goto(live_server.url + "/admin/analytics/articles/4")
    check("analytics drill-down")
    assert not found, "\n".join(f"{name}: {v}" for name, problems in found.items() for v in problems)


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
@pytest.mark.parametrize("query", ["premium support", "xylophone zeppelin"], ids=["results", "no results"])
def test_the_search_page_has_no_axe_violation(sample_server: LiveServer, sized_page: Page, query: str) -> None:
    sized_page.goto(sample_server.url + "/en/search?q=" + query.replace(" ", "+"))
    assert violations(sized_page) == []
