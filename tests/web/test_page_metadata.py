"""What browsers and search engines read in the head of every public page type, in every
language: the properties Lighthouse's SEO and best-practices audits check (bench/lighthouse.py
measures the scores; these tests keep the markup that earns them)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

LANGS = ["en", "pt", "fr", "de", "it", "es"]
PAGE_TYPES = ["home", "category", "article", "search"]
# Link texts Lighthouse's link-text audit calls not descriptive (its list, in our six languages).
VAGUE_LINK_TEXTS = {
    "click here", "click this", "go", "here", "information", "learn more", "more", "more info",
    "more information", "right here", "read more", "see more", "start", "this",
    "aqui", "clique aqui", "saiba mais", "mais", "leia mais", "ici", "cliquez ici", "en savoir plus",
    "plus", "lire la suite", "hier", "klicken sie hier", "mehr", "mehr erfahren", "weiterlesen",
    "qui", "clicca qui", "altro", "scopri di più", "leggi di più", "aquí", "haz clic aquí", "más",
    "más información", "leer más",
}


def path_of(client: TestClient, lang: str, page_type: str) -> str:
    if page_type == "home":
        return f"/{lang}/"
    if page_type == "category":
        return f"/{lang}/premium-support/"
    if page_type == "search":
        return f"/{lang}/search?q=premium"
    return client.get("/faq/3", params={"lang": lang}, follow_redirects=False).headers["location"]


def page(client: TestClient, lang: str, page_type: str) -> BeautifulSoup:
    response = client.get(path_of(client, lang, page_type))
    assert response.status_code == 200, (lang, page_type)
    return BeautifulSoup(response.text, "html.parser")


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@pytest.mark.parametrize("page_type", PAGE_TYPES)
@pytest.mark.parametrize("lang", LANGS)
def test_every_public_page_says_its_language_title_and_description(sample_client: TestClient,
                                                                  lang: str, page_type: str) -> None:
    html = page(sample_client, lang, page_type)
    assert html.html["lang"] == lang
    assert html.select_one("meta[charset]")["charset"].lower() == "utf-8"
    assert html.title is not None and html.title.get_text(strip=True)
    assert html.select_one("meta[name=description]")["content"].strip()
    viewport = html.select_one("meta[name=viewport]")["content"]
    # zooming stays allowed (no user-scalable=no, no maximum-scale under 5)
    assert "width=device-width" in viewport and "user-scalable" not in viewport
    assert "maximum-scale" not in viewport


@pytest.mark.parametrize("page_type", PAGE_TYPES)
@pytest.mark.parametrize("lang", LANGS)
def test_only_the_search_page_asks_not_to_be_indexed(sample_client: TestClient, lang: str,
                                                     page_type: str) -> None:
    robots = [meta["content"] for meta in page(sample_client, lang, page_type).select("meta[name=robots]")]
    assert robots == (["noindex"] if page_type == "search" else [])


@pytest.mark.parametrize("page_type", ["home", "category", "article"])
@pytest.mark.parametrize("lang", LANGS)
def test_indexable_pages_name_one_canonical_address_and_their_translations(
        sample_client: TestClient, lang: str, page_type: str) -> None:
    html = page(sample_client, lang, page_type)
    canonical = [link["href"] for link in html.select("link[rel=canonical]")]
    assert len(canonical) == 1 and is_absolute(canonical[0])
    assert urlsplit(canonical[0]).path == urlsplit(path_of(sample_client, lang, page_type)).path
    alternates = {link["hreflang"]: link["href"] for link in html.select("link[rel=alternate][hreflang]")}
    assert set(alternates) == set(LANGS)  # the sample has these pages in all six languages
    assert alternates[lang] == canonical[0]
    assert all(is_absolute(href) for href in alternates.values())


@pytest.mark.parametrize("page_type", ["home", "category", "article"])
def test_each_language_describes_the_page_in_its_own_words(sample_client: TestClient,
                                                           page_type: str) -> None:
    descriptions = {page(sample_client, lang, page_type).select_one("meta[name=description]")["content"]
                    for lang in LANGS}
    assert len(descriptions) == len(LANGS)


@pytest.mark.parametrize("page_type", PAGE_TYPES)
@pytest.mark.parametrize("lang", LANGS)
def test_every_link_can_be_followed_and_says_where_it_goes(sample_client: TestClient, lang: str,
                                                           page_type: str) -> None:
    for link in page(sample_client, lang, page_type).select("a"):
        href = link.get("href")
        assert href and not href.lower().startswith("javascript:"), link
        name = link.get("aria-label") or link.get_text(" ", strip=True)
        assert name, link
        assert re.sub(r"\s+", " ", name).strip().lower() not in VAGUE_LINK_TEXTS, link


def test_robots_txt_holds_only_directives_crawlers_know(sample_client: TestClient) -> None:
    response = sample_client.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    for line in response.text.splitlines():
        if line.strip():
            directive, _, value = line.partition(":")
            assert directive.strip().lower() in {"user-agent", "disallow", "allow", "sitemap"}, line
            assert value.strip(), line
    sitemap = next(line for line in response.text.splitlines() if line.lower().startswith("sitemap:"))
    assert is_absolute(sitemap.partition(":")[2].strip())
