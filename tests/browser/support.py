"""What browser tests share: the two widths, signing in through the real login form, adding an
account with `kb user add`, axe-core's checks, and the tabs handed from test to test."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page
from playwright.sync_api import Error as PlaywrightError

from kb.cli.main import main
from kb.config import Settings
from tests.admin_support import PASSWORD
from tests.conftest import AXE_URL

VIEWPORTS = [pytest.param((390, 844), id="phone"), pytest.param((1280, 800), id="desktop")]
DEFAULT_VIEWPORT = {"width": 1280, "height": 720}  # a new context's, in Playwright
TIMEOUT_MS = 10_000


def sign_in(page: Page, user: str, *, then: str) -> None:
    """Fill in the sign-in form the page shows (with the accounts' test password), submit it,
    and wait until the page the login leads to (`then`, a URL glob) has loaded."""
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(then)


def type_query(box: Locator, text: str) -> Locator:
    """Types `text` into a search box key by key, as a visitor does, and returns its list of
    suggestions once it shows those of the whole text: its last option, "See all results for
    “text”", names the query they answer. On a busy machine the keys can come further apart than
    the box's pause before it asks, so the suggestions for a shorter prefix may be shown first and
    then replaced (with the highlight) while a test already presses keys in them."""
    box.click()
    box.press_sequentially(text, delay=30)
    listbox = box.page.locator("#" + str(box.get_attribute("aria-controls")))
    listbox.get_by_role("option").last.filter(has_text=f"“{text}”").wait_for()
    return listbox


def add_user(settings: Settings, name: str, role: str) -> None:
    """`kb user add` (with the test password) in its own thread: Playwright keeps an event loop
    running in this one."""
    args = ["user", "add", name, "--role", role, "--password-stdin",
            "--data-dir", str(settings.data_dir), "--content-dir", str(settings.content_dir)]
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(1) as pool:
        patch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert pool.submit(main, args).result() == 0


# axe-core runs every rule it enables by default (WCAG 2.0, 2.1 and 2.2 A and AA, and best
# practices), and only violations are sent back: the passes are neither listed nor copied.
AXE_RUN = "([context, options]) => axe.run(context ?? document, options).then(results => results.violations)"


def axe_violations(page: Page, context: str | None = None) -> list[str]:
    """What axe-core finds in the page (or in the part the selector `context` names), any impact,
    each as 'rule (impact): help' followed by its first nodes and what fails there.

    axe-core's script is added to the page from the test server (conftest.ServedAssets), so
    Chromium compiles it once per session rather than once per check."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_URL)
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN, [context, {"resultTypes": ["violations"]}])
    return [f"{v['id']} ({v['impact']}): {v['help']}"
            + "".join(f"\n      {_target(node)}: {_summary(node)}"
                      for node in v["nodes"][:5])
            for v in found]


def _summary(node: dict[str, Any]) -> str:
    return " / ".join(line.strip() for line in str(node.get("failureSummary", "")).splitlines() if line.strip())


def _target(node: dict[str, Any]) -> str:
    target = node.get("target", [])
    return " ".join(str(t) for t in target) if isinstance(target, list) else str(target)


class Tabs:
    """Browser tabs handed from test to test. Opening a tab starts a renderer process (about
    0.15 s of CPU, the largest cost of a short browser test), so each kind of tab (with and
    without JavaScript) is opened once per session and, after each test, reset to what a new tab
    is: a blank document, no cookie (a new visitor), no permission granted, none of the test's
    listeners or routes, no media emulation, Playwright's default viewport and the suite's timeout. A tab whose test
    failed, or that cannot be reset, is closed instead: the next test gets a new one."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.tabs: dict[bool, Page] = {}
        self.listeners: dict[int, dict[str, list[Any]]] = {}

    def take(self, *, javascript: bool = True, viewport: tuple[int, int] | None = None) -> Page:
        page = self.tabs.get(javascript)
        if page is None or page.is_closed():
            page = self.tabs[javascript] = self.browser.new_context(java_script_enabled=javascript).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        if viewport is not None:
            page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        self.listeners[id(page)] = _listeners(page)
        return page

    def give_back(self, page: Page, *, failed: bool) -> None:
        before = self.listeners.pop(id(page), {})
        if not failed:
            try:
                self._reset(page, before)
                return
            except PlaywrightError:
                pass
        for javascript, tab in list(self.tabs.items()):
            if tab is page:
                del self.tabs[javascript]
        page.context.close()

    @staticmethod
    def _reset(page: Page, before: dict[str, list[Any]]) -> None:
        emitter = page._impl_obj  # page.on() adds its listeners to these events
        for event, listeners in _listeners(page).items():
            for listener in listeners:
                if listener not in before.get(event, []):
                    emitter.remove_listener(event, listener)
        page.unroute_all(behavior="ignoreErrors")
        page.goto("about:blank")
        page.emulate_media(media="null")
        page.set_viewport_size(DEFAULT_VIEWPORT)  # type: ignore[arg-type]
        page.context.clear_cookies()
        page.context.clear_permissions()

    def close(self) -> None:
        for page in self.tabs.values():
            page.context.close()
        self.tabs.clear()


def _listeners(page: Page) -> dict[str, list[Any]]:
    events: dict[str, Any] = page._impl_obj._events
    return {event: list(found) if isinstance(found, list) else [found] for event, found in events.items()}
