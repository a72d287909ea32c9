"""German, Italian and Spanish pages in Chromium, on a phone (390 px) and a desktop (1280 px):
longer words and a six-language switcher must not widen the page, and axe-core finds nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.test_accessibility import VIEWPORTS, violations
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

PAGES = {
    "de": ["/de/", "/de/premium-support/", "/de/articles/premium-support-laufzeit-und-rueckerstattung",
           "/de/search?q=Rückerstattung"],
    "it": ["/it/", "/it/premium-support/", "/it/articles/supporto-premium-limiti", "/it/search?q=rimborso"],
    "es": ["/es/", "/es/support-codes/", "/es/articles/codigo-de-soporte-y-codigo-vip", "/es/search?q=código"],
}


@pytest.mark.parametrize("lang", sorted(PAGES))
@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True)
def test_new_language_pages_fit_the_screen_and_pass_axe(sample_server: LiveServer, sized_page: Page,
                                                        lang: str) -> None:
    found: dict[str, list[str]] = {}
    for path in PAGES[lang]:
        response = sized_page.goto(sample_server.url + path)
        assert response is not None and response.status == 200, path
        assert sized_page.locator("html").get_attribute("lang") == lang
        # nothing sticks out sideways: German compounds and six language names included
        overflow = sized_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        if problems := violations(sized_page):
            found[path] = problems
    assert not found, found


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
