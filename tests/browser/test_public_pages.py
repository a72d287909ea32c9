"""The public pages in Chromium, on a phone (390 px) and a desktop (1280 px), in every language.

One visit per page and width checks everything a page must pass:
- it loads cleanly: no console error, no script error, no failed or refused request, and nothing
  in DevTools' Issues panel (CSP violations, cookie and form problems...): what Lighthouse's
  best-practices audits `errors-in-console` and `inspector-issues` read (bench/lighthouse.py
  measures the scores);
- it is in its language (`<html lang>`) and nothing sticks out sideways (German compounds and six
  language names included);
- axe-core finds no violation, of any impact, on the pages marked AXE (an open answer included
  on a category page): the English home, categories, an FAQ, a tutorial, the video and a search
  with and without results at both widths, and the German, Italian and Spanish home, category,
  article and search pages on the phone. A translation changes the words of the same templates,
  not the layout the desktop width adds, and the phone is where its longer words must fit; an
  axe-core run costs ~0.45 s of CPU, the largest part of this test.
A failure lists every problem of every page, each naming the width, the page and its kind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route

from tests.browser.support import VIEWPORTS, axe_violations
from tests.conftest import ContentTree, LiveServer, settings_for

pytestmark = pytest.mark.browser

AXE, CLEAN = True, False  # whether axe-core runs on the page too
AXE_TRANSLATIONS_BELOW = 600  # px: translated pages are checked by axe-core on the phone only
PAGES: dict[str, list[tuple[str, bool]]] = {
    # home, a category, an FAQ, a tutorial, the video where it exists, searches
    "en": [("/en/", AXE), ("/en/premium-support/", AXE), ("/faq/3?lang=en", AXE), ("/faq/4?lang=en", CLEAN),
           ("/en/articles/upgrade-premium-support", AXE), ("/faq/7?lang=en", AXE),
           ("/en/search?q=premium+support", AXE), ("/en/search?q=xylophone+zeppelin", AXE)],
    "pt": [("/pt/", CLEAN), ("/pt/premium-support/", CLEAN), ("/faq/3?lang=pt", CLEAN), ("/faq/4?lang=pt", CLEAN),
           ("/faq/7?lang=pt", CLEAN), ("/pt/search?q=premium", CLEAN)],
    "fr": [("/fr/", CLEAN), ("/fr/premium-support/", CLEAN), ("/faq/3?lang=fr", CLEAN), ("/faq/4?lang=fr", CLEAN),
           ("/faq/7?lang=fr", CLEAN), ("/fr/search?q=premium", CLEAN)],
    "de": [("/de/", AXE), ("/de/premium-support/", AXE), ("/faq/3?lang=de", CLEAN), ("/faq/4?lang=de", CLEAN),
           ("/de/articles/premium-support-laufzeit-und-rueckerstattung", AXE), ("/de/search?q=Rückerstattung", AXE)],
    "it": [("/it/", AXE), ("/it/premium-support/", AXE), ("/faq/3?lang=it", CLEAN), ("/faq/4?lang=it", CLEAN),
           ("/it/articles/supporto-premium-limiti", AXE), ("/it/search?q=rimborso", AXE)],
    # /faq/3 is /es/articles/codigo-de-soporte-y-codigo-vip
    "es": [("/es/", AXE), ("/es/premium-support/", CLEAN), ("/es/support-codes/", AXE), ("/faq/3?lang=es", AXE),
           ("/faq/4?lang=es", CLEAN), ("/es/search?q=código", AXE)],
}


# the page's language, and how far it sticks out sideways (nothing should)
LANG_AND_OVERFLOW = "[document.documentElement.lang, document.documentElement.scrollWidth - window.innerWidth]"


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_public_pages_in_six_languages_load_cleanly_fit_the_screen_and_pass_axe(
        sample_server: LiveServer, sized_page: Page) -> None:
    page = sized_page
    width = page.viewport_size["width"] if page.viewport_size else 0
    problems: list[str] = []
    where = [""]  # the page being checked, which each problem names

    def problem(text: str) -> None:
        problems.append(f"{width} px, {where[0]}: {text}")

    page.on("console", lambda message: _console(message, problem))
    page.on("pageerror", lambda error: problem(f"script error: {error}"))
    loads = Loads(page)
    page.on("requestfailed", lambda request: _failed(request, loads.of_a_page_left(request), problem))
    page.on("response", lambda response: _status(response, problem))
    devtools = page.context.new_cdp_session(page)
    devtools.on("Audits.issueAdded", lambda event: _issue(event, problem))
    devtools.send("Audits.enable")
    try:
        for lang, paths in PAGES.items():
            for path, axe in paths:
                where[0] = path
                response = page.goto(sample_server.url + path)  # "load": every script has run
                if response is None or response.status != 200:
                    problem(f"answered {response.status if response else 'nothing'}")
                    continue
                loads.settle()
                page_lang, overflow = page.evaluate(LANG_AND_OVERFLOW)
                if page_lang != lang:
                    problem(f"<html lang={page_lang}>, not {lang}")
                if overflow > 0:
                    problem(f"{overflow} px wider than the screen")
                if axe and (lang == "en" or width < AXE_TRANSLATIONS_BELOW):
                    if (entries := page.locator("article.faq-entry")).count():  # an open answer is checked too
                        first = page.locator("#faq-1") if page.locator("#faq-1").count() else entries.first
                        first.locator("summary").click()
                    problems.extend(f"{width} px, {path}: axe: {found}" for found in axe_violations(page))
                    loads.settle()
    finally:
        devtools.detach()
    assert not problems, "\n".join(problems)


class Loads:
    """The requests of a tab, by the document that made them: documents are counted by their
    main-frame navigation requests, in the order Chromium reports its events (a count of visits
    kept in the test's thread would race with their delivery)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.document = 0
        self.made_by: dict[Request, int] = {}
        self.in_flight: set[Request] = set()
        self.asked: set[tuple[int, str]] = set()
        page.on("request", self._requested)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._done)

    def _requested(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.document += 1
        self.made_by[request] = self.document
        self.asked.add((self.document, request.url))
        self.in_flight.add(request)

    def _done(self, request: Request) -> None:
        self.in_flight.discard(request)

    def of_a_page_left(self, request: Request) -> bool:
        return self.made_by.get(request) != self.document

    def settle(self) -> None:
        """Wait until every request of the page has finished or failed, its icon included
        (Chromium asks for it after `load`, and leaving the page would abort it): what
        "networkidle" waits for, without its fixed 500 ms of quiet after each page (these pages
        start no request of their own after `load`; search suggestions wait for typing)."""
        icon = self.page.evaluate("document.querySelector('link[rel~=icon]')?.href ?? ''")
        deadline = time.monotonic() + 10
        while self.in_flight or (icon and (self.document, icon) not in self.asked):
            assert time.monotonic() < deadline, f"still loading: {[r.url for r in self.in_flight] or icon}"
            self.page.wait_for_timeout(10)


def _console(message: ConsoleMessage, problem: Callable[[str], None]) -> None:
    if message.type == "error":
        problem(f"console error: {message.text}")


def _failed(request: Request, page_left: bool, problem: Callable[[str], None]) -> None:
    if page_left and request.failure == "net::ERR_ABORTED":
        return  # the test navigated away while it was on its way
    problem(f"request failed: {request.url} ({request.failure})")


def _status(response: Response, problem: Callable[[str], None]) -> None:
    if response.status >= 400:
        problem(f"{response.status} for {response.url}")


def _issue(event: dict[str, Any], problem: Callable[[str], None]) -> None:
    issue = event.get("issue", {})
    problem(f"DevTools issue {issue.get('code')}: {issue.get('details')}")


@pytest.mark.parametrize("sized_page", [VIEWPORTS[0]], indirect=True)
def test_a_video_is_downloaded_only_when_the_reader_plays_it(sample_server: LiveServer, sized_page: Page) -> None:
    """Most readers of a video article read its transcript: on a phone, arriving on the page
    costs no video data, and a video host that is slow or down cannot make the page fail."""
    loads = Loads(sized_page)
    # a media element that fetches delays the page's `load`: by then its request has been made
    sized_page.goto(sample_server.url + "/en/articles/video-support-code-and-vip-code")
    loads.settle()
    asked = [url for _, url in loads.asked]
    video = sized_page.locator("figure.video video")
    source = video.get_attribute("src")
    assert source and video.get_attribute("preload") == "none"
    assert source not in asked


PLAYER = "https://videos.example.net/embed/support-codes"


@pytest.fixture(scope="module")
def player_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A site whose video article's `video:` is a player page on another host."""
    tree = ContentTree(tmp_path_factory.mktemp("player") / "articles")
    tree.add("en", "video-codes", type="video", video=PLAYER, body="**Narrator:** Hello.")
    with LiveServer(settings_for(tree.root.parent, tree.root)) as server:
        yield server


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_a_video_hosted_elsewhere_plays_in_its_frame(player_server: LiveServer, sized_page: Page) -> None:
    """A `video:` that is a player page (not a file) is embedded in a sandboxed frame: the page's
    Content-Security-Policy lets it load, with no error."""
    problems: list[str] = []
    sized_page.on("console", lambda message: _console(message, problems.append))
    sized_page.route(PLAYER, lambda route: _player(route))  # the closed network has no video host
    sized_page.goto(player_server.url + "/en/articles/video-codes")
    frame = sized_page.frame_locator("figure.video iframe")
    assert frame.locator("p").inner_text() == "the player"  # waits for the frame's document
    assert not problems, problems


def _player(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Player</title><p>the player</p>")
