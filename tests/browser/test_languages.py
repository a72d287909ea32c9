"""The language switcher in Chromium on a phone (390 px): an article moves between the six
languages. (That German, Italian and Spanish pages fit the screen and pass axe-core, at both
widths, is checked on the visits of tests/browser/test_public_pages.py.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import VIEWPORTS
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("sized_page", [VIEWPORTS[0]], indirect=True)
def test_the_switcher_moves_an_article_between_the_six_languages(sample_server: LiveServer,
                                                                 sized_page: Page) -> None:
    sized_page.goto(sample_server.url + "/en/articles/support-code-and-vip-code")
    for lang, name, title in [("de", "Deutsch", "Support-Code und VIP-Code: wo Sie sie finden"),
                              ("it", "Italiano", "Codice di supporto e codice VIP: dove trovarli"),
                              ("es", "Español", "Código de soporte y código VIP: dónde encontrarlos")]:
        switcher = sized_page.locator(f"a[hreflang={lang}][lang={lang}]").first
        assert switcher.inner_text().strip().startswith(name)
        switcher.click()
        sized_page.wait_for_url(f"**/{lang}/articles/**")
        assert sized_page.locator("h1").inner_text() == title
