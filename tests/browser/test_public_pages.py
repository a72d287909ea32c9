"""The public pages load cleanly in Chromium, on a phone (390 px) and a desktop (1280 px), in
every language: no console error, no script error, no failed or refused request, and nothing in
DevTools' Issues panel (CSP violations, cookie and form problems...). These are what
Lighthouse's best-practices audits `errors-in-console` and `inspector-issues` read
(bench/lighthouse.py measures the scores)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route

from tests.browser.test_accessibility import VIEWPORTS
from tests.conftest import ContentTree, LiveServer, settings_for

pytestmark = pytest.mark.browser

LANGS = ["en", "pt", "fr", "de", "it", "es"]
VIDEO_LANGS = {"en", "pt", "fr"}  # the sample's video (id 7) exists in these


def public_pages(lang: str) -> list[str]:
    """Home, a category, an FAQ, a tutorial, the video where it exists, a search."""
    pages = [f"/{lang}/", f"/{lang}/premium-support/", f"/faq/3?lang={lang}", f"/faq/4?lang={lang}"]
    return pages + ([f"/faq/7?lang={lang}"] if lang in VIDEO_LANGS else []) + [f"/{lang}/search?q=premium"]


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_public_pages_load_without_an_error_or_an_issue(sample_server: LiveServer, sized_page: Page) -> None:
    problems: list[str] = []
    sized_page.on("console", lambda message: _console(message, problems))
    sized_page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    # Which page visit made each request: a request of a page the test has already left (the
    # favicon is asked lazily, after `load`) is aborted by the next visit, not failed by the page.
    visit = [0]
    made_on: dict[Request, int] = {}
    sized_page.on("requestfailed", lambda request: _failed(request, made_on.get(request) != visit[0], problems))
    in_flight: set[Request] = set()
    sized_page.on("request", lambda request: (in_flight.add(request), made_on.__setitem__(request, visit[0])))
    sized_page.on("requestfinished", lambda request: in_flight.discard(request))
    sized_page.on("requestfailed", lambda request: in_flight.discard(request))
    sized_page.on("response", lambda response: _status(response, problems))
    devtools = sized_page.context.new_cdp_session(sized_page)
    devtools.on("Audits.issueAdded", lambda event: _issue(event, problems))
    devtools.send("Audits.enable")
    for lang in LANGS:
        for path in public_pages(lang):
            visit[0] += 1
            response = sized_page.goto(sample_server.url + path)  # "load": every script has run
            assert response is not None and response.status == 200, path
            _settle(sized_page, in_flight)
            assert sized_page.locator("html").get_attribute("lang") == lang
            assert not problems, (path, problems)


def _settle(page: Page, in_flight: set[Request]) -> None:
    """Wait until every request the page made has finished or failed: what "networkidle" waits
    for, without its fixed 500 ms of quiet after each page (these pages start no request of
    their own after `load`; search suggestions wait for typing)."""
    deadline = time.monotonic() + 10
    while in_flight:
        assert time.monotonic() < deadline, f"still loading: {[r.url for r in in_flight]}"
        page.wait_for_timeout(10)


def _console(message: ConsoleMessage, problems: list[str]) -> None:
    if message.type == "error":
        problems.append(f"console error: {message.text}")


def _failed(request: Request, page_left: bool, problems: list[str]) -> None:
    if page_left and request.failure == "net::ERR_ABORTED":
        return  # the test navigated away while it was on its way
    problems.append(f"request failed: {request.url} ({request.failure})")


def _status(response: Response, problems: list[str]) -> None:
    if response.status >= 400:
        problems.append(f"{response.status} for {response.url}")


def _issue(event: dict[str, Any], problems: list[str]) -> None:
    issue = event.get("issue", {})
    problems.append(f"DevTools issue {issue.get('code')}: {issue.get('details')}")


@pytest.mark.parametrize("sized_page", [VIEWPORTS[0]], indirect=True)
def test_a_video_is_downloaded_only_when_the_reader_plays_it(live_server: LiveServer, sized_page: Page) -> None:
    """Most readers of a video article read its transcript: on a phone, arriving on the page
    costs no video data, and a video host that is slow or down cannot make the page fail."""
    asked: list[str] = []
    sized_page.on("request", lambda request: asked.append(request.url))
    sized_page.goto(live_server.url + "/en/articles/video-support-code-and-vip-code", wait_until="networkidle")
    video = sized_page.locator("figure.video video")
    source = video.get_attribute("src")
    assert source and video.get_attribute("preload") == "none"
    assert source not in asked


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_a_video_hosted_elsewhere_plays_in_its_frame(tmp_path: Path, tree: ContentTree, sized_page: Page) -> None:
    """A `video:` that is a player page (not a file) is embedded in a sandboxed frame: the page's
    Content-Security-Policy lets it load, with no error."""
    player = "https://videos.example.net/embed/support-codes"
    tree.add("en", "video-codes", type="video", video=player, body="**Narrator:** Hello.")
    problems: list[str] = []
    sized_page.on("console", lambda message: _console(message, problems))
    sized_page.route(player, lambda route: _player(route))  # the closed network has no video host
    with LiveServer(settings_for(tmp_path, tree.root)) as server:
        sized_page.goto(server.url + "/en/articles/video-codes", wait_until="networkidle")
        frame = sized_page.frame_locator("figure.video iframe")
        assert frame.locator("p").inner_text() == "the player"
    assert not problems, problems


def _player(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Player</title><p>the player</p>")
