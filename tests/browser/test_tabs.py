"""Browser tests share tabs (tests.browser.support.Tabs: a new tab costs a renderer process): a tab
handed back after a test must be what a new tab is, so that no test sees what another did."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import Tabs
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def _listener_counts(page: Any) -> dict[str, int]:
    return {event: len(found) if isinstance(found, list) else 1 for event, found in page._impl_obj._events.items()}


def test_a_tab_handed_back_is_a_new_visitors_blank_tab(sample_server: LiveServer, tabs: Tabs) -> None:
    page = tabs.take(viewport=(390, 844))
    listeners = _listener_counts(page)
    heard: list[str] = []
    page.on("request", lambda request: heard.append(request.url))
    page.route("**/*.svg", lambda route: route.abort())
    page.context.grant_permissions(["clipboard-read"])
    page.emulate_media(media="print")
    page.goto(sample_server.url + "/en/")
    assert page.context.cookies() and heard
    tabs.give_back(page, failed=False)

    again = tabs.take()
    assert again is page  # the same renderer, reset
    assert again.url == "about:blank" and again.viewport_size == {"width": 1280, "height": 720}
    assert again.context.cookies() == []
    assert _listener_counts(again) == listeners
    heard.clear()
    again.goto(sample_server.url + "/en/")
    assert heard == []
    assert again.evaluate("matchMedia('print').matches") is False
    assert again.evaluate("navigator.permissions.query({name: 'clipboard-read'}).then(p => p.state)") != "granted"
    assert again.evaluate("fetch('/static/favicon.svg').then(r => r.ok)") is True  # no route left
    tabs.give_back(again, failed=True)  # a failed test's tab is closed, never handed on
    assert again.is_closed()
    fresh = tabs.take()
    assert fresh is not again and not fresh.is_closed()
    tabs.give_back(fresh, failed=False)
