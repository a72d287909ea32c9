"""An analyst in a real Chromium: signs in, reads the dashboard, sorts the articles table, and
opens an article's drill-down (where a hostile comment stays text)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kb.cli.main import main
from kb.content.site import Site
from kb.storage.db import Database
from tests.admin_support import PASSWORD
from tests.analytics_data import load, write_content
from tests.browser.support import sign_in
from tests.conftest import ContentTree, LiveServer, settings_for

pytestmark = pytest.mark.browser

WEEK = "period=custom&since=2026-03-25&until=2026-03-31"


def in_thread(work: Any, *args: Any) -> Any:
    """Playwright keeps an event loop running in this thread: other work runs in its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work, *args).result()


def load_data(database: Path, content: Path) -> None:
    async def run() -> None:
        site = Site(content)
        site.load()
        db = Database(database)
        await db.open()
        try:
            await load(db, site.article("en", "refund-policy").revision)
        finally:
            await db.close()

    asyncio.run(run())


@pytest.fixture
def server(tree: ContentTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    write_content(tree)
    settings = settings_for(tmp_path, tree.root)
    with LiveServer(settings) as live:
        in_thread(load_data, settings.database, tree.root)
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert in_thread(main, ["user", "add", "ann", "--role", "analyst", "--password-stdin",
                                "--data-dir", str(settings.data_dir), "--content-dir", str(tree.root)]) == 0
        yield live


def test_an_analyst_reads_the_dashboard_and_an_articles_drill_down(server: LiveServer, page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{server.url}/admin/analytics?{WEEK}")
    page.wait_for_url("**/admin/login?next=**")
    sign_in(page, "ann", then="**/admin/analytics?**")

    assert page.locator("h1").inner_text() == "Analytics"
    assert page.locator('[data-figure="views"] .figure-value').inner_text() == "94"
    assert page.locator('[data-figure="helpful_rate"] .figure-value').inner_text() == "61.5%"
    chart = page.get_by_role("img", name="Votes and helpful rate over time")
    assert chart.is_visible() and chart.bounding_box()["width"] > 300
    page.get_by_text("Show the chart's data as a table").click()
    assert page.locator("details.chart-data tbody tr").count() == 7

    table = page.locator(".analytics-table")
    assert table.locator("tbody tr").first.locator("th a").inner_text() == "Refund policy"
    table.get_by_role("link", name="Views").click()
    page.wait_for_url("**sort=views**")
    assert page.locator(".analytics-table th[aria-sort]").get_attribute("aria-sort") == "descending"

    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**lang=fr**")
    assert page.locator('[data-figure="views"] .figure-value').inner_text() == "4"
    page.get_by_role("link", name="Last 90 days").click()
    page.wait_for_url("**period=90**")
    assert "lang=fr" in page.url

    page.goto(f"{server.url}/admin/analytics?{WEEK}")
    page.get_by_role("link", name="Refund policy").click()
    page.wait_for_url("**/admin/analytics/articles/1?**")
    assert page.locator("h1").inner_text().startswith("Refund policy")
    revisions = page.locator(".revisions-table tbody tr")
    assert revisions.count() == 2 and "bob" in revisions.nth(1).inner_text()
    assert page.get_by_text("<script>alert(1)</script>").is_visible()
    page.get_by_label("Reason").select_option("didnt_answer")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**reason=didnt_answer**")
    assert page.locator(".comments blockquote").all_inner_texts() == [
        "Nothing about refunds to PayPal", "Changed my mind"]
    assert dialogs == []
