"""The six languages of the site (en, pt, fr, de, it, es): negotiation, permalinks, pages in
German, Italian and Spanish, their policy texts, and the sample content they ship with."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.config import PROJECT_ROOT
from kb.content.loader import load_content

SIX = ("en", "pt", "fr", "de", "it", "es")
SAMPLE = PROJECT_ROOT / "articles"

# The three seed FAQs in the new languages: id -> lang -> slug.
FAQS = {
    1: {"de": "premium-support-laufzeit-und-rueckerstattung", "it": "supporto-premium-impegno-e-rimborsi",
        "es": "soporte-premium-permanencia-y-reembolsos"},
    2: {"de": "premium-support-grenzen", "it": "supporto-premium-limiti", "es": "soporte-premium-limites"},
    3: {"de": "support-code-und-vip-code", "it": "codice-di-supporto-e-codice-vip",
        "es": "codigo-de-soporte-y-codigo-vip"},
}

# What a reader of each new language sees: the site's name, the feedback question, a category.
UI = {
    "de": ("Wissensdatenbank", "War dieser Artikel hilfreich?", "Premium-Support"),
    "it": ("Base di conoscenza", "Questo articolo ti è stato utile?", "Supporto Premium"),
    "es": ("Base de conocimientos", "¿Te ha resultado útil este artículo?", "Soporte Premium"),
}


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.mark.parametrize(("header", "expected"), [
    ("de-CH,de;q=0.9,en;q=0.5", "/de/"),
    ("it-IT", "/it/"),
    ("es-419,es;q=0.9,en;q=0.8", "/es/"),
    ("ja, es;q=0.3, it;q=0.5", "/it/"),  # the best the site has, by q-value
    ("fr;q=0.2, de-AT;q=0.7", "/de/"),
])
def test_the_root_negotiates_german_italian_and_spanish(sample_client: TestClient, header: str,
                                                        expected: str) -> None:
    response = sample_client.get("/", headers={"Accept-Language": header}, follow_redirects=False)
    assert response.headers["location"] == expected


@pytest.mark.parametrize("faq_id", sorted(FAQS))
@pytest.mark.parametrize("lang", ["de", "it", "es"])
def test_faq_permalinks_lead_to_the_german_italian_and_spanish_versions(sample_client: TestClient, faq_id: int,
                                                                       lang: str) -> None:
    response = sample_client.get(f"/faq/{faq_id}", headers={"Accept-Language": f"{lang}-CH, en;q=0.5"},
                                 follow_redirects=False)
    assert response.headers["location"] == f"/{lang}/articles/{FAQS[faq_id][lang]}"


@pytest.mark.parametrize("lang", ["de", "it", "es"])
def test_home_category_and_article_pages_speak_the_new_language(sample_client: TestClient, lang: str) -> None:
    name, question, category = UI[lang]
    home = soup(sample_client.get(f"/{lang}/"))
    assert home.html["lang"] == lang and home.h1.get_text() == name
    assert category in home.get_text()
    # the switcher offers all six languages, each named in its own language
    switcher = {a["hreflang"]: a.get_text() for a in home.select("a[hreflang][lang]")}
    assert {"Deutsch", "Italiano", "Español", "Français", "Português", "English"} <= set(switcher.values())

    listing = sample_client.get(f"/{lang}/premium-support/")
    assert listing.status_code == 200
    page = soup(listing)
    assert page.html["lang"] == lang and page.h1.get_text(strip=True) == category
    assert question in page.get_text()

    for faq_id in FAQS:
        article = sample_client.get(f"/{lang}/articles/{FAQS[faq_id][lang]}")
        assert article.status_code == 200
        text = soup(article).get_text(" ")
        assert question in text
        for english in ("Was this article helpful?", "On this page", "Related articles", "unavailable"):
            assert english not in text, (lang, faq_id, english)


@pytest.mark.parametrize(("lang", "shown"), [
    ("de", ["6 Monate", "Support Plus: 4 Stunden", "nur auf Französisch und Englisch"]),
    ("it", ["6 mesi", "Support Plus: 4 ore", "solo in francese e inglese"]),
    # "e", not "y", before "inglés"
    ("es", ["6 meses", "Support Plus: 4 horas", "solo en francés e inglés"]),
])
def test_policy_snippets_render_in_the_articles_language(sample_client: TestClient, lang: str,
                                                          shown: list[str]) -> None:
    pages = [soup(sample_client.get(f"/{lang}/articles/{FAQS[faq_id][lang]}")).get_text(" ") for faq_id in (1, 2)]
    text = " ".join(" ".join(pages).split())
    for words in shown:
        assert words in text, (lang, words)


def test_the_policy_api_gives_german_italian_and_spanish_texts(sample_client: TestClient) -> None:
    german = sample_client.get("/api/v1/policies/premium.commitment.rule?lang=de").json()
    assert german["value"].startswith("Die Laufzeit ist fest und verbindlich")
    assert sample_client.get("/api/v1/policies/premium.name?lang=it").json()["value"] == "Supporto Premium"
    where = sample_client.get("/api/v1/policies/codes.vip.where?lang=es").json()["value"]
    assert "la página de gestión del Soporte Premium" in where
    whole = sample_client.get("/api/v1/policies?lang=de")
    assert whole.status_code == 200 and "Standard-Support" in whole.text and "Standard support" not in whole.text


def _texts(node: Any, path: str = "") -> list[tuple[str, dict[str, str]]]:
    """Every mapping of language to text in policy.yaml, with its dotted path."""
    if isinstance(node, dict):
        if "en" in node and all(isinstance(v, str) for v in node.values()):
            return [(path, node)]
        return [found for key, value in node.items() for found in _texts(value, f"{path}.{key}".strip("."))]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in _texts(value, f"{path}[{i}]")]
    return []


def test_every_policy_text_and_category_is_written_in_the_six_languages() -> None:
    policy = yaml.safe_load((SAMPLE / "policy.yaml").read_text(encoding="utf-8"))
    texts = _texts(policy)
    assert len(texts) > 30
    for path, text in texts:
        assert set(text) == set(SIX), path
    categories = yaml.safe_load((SAMPLE / "categories.yaml").read_text(encoding="utf-8"))
    for key, category in categories.items():
        assert set(category["title"]) >= set(SIX) and set(category["description"]) >= set(SIX), key


def test_the_seed_faqs_exist_in_six_languages_in_the_same_category() -> None:
    content = load_content(SAMPLE)
    assert not content.problems
    for faq_id in FAQS:
        versions = [a for a in content.articles.values() if a.id == faq_id]
        assert sorted(a.lang for a in versions) == sorted(SIX), faq_id
        assert {(a.category, a.type, a.status) for a in versions} == {(versions[0].category, "faq", "published")}
        assert len({tuple(a.tags) for a in versions}) == 1, faq_id  # tags stay the English keys


@pytest.mark.parametrize("lang", ["de", "it", "es"])
def test_no_topic_of_the_home_page_is_empty_in_the_new_languages(sample_client: TestClient, lang: str) -> None:
    content = load_content(SAMPLE)
    public = {a.category for a in content.articles.values()
              if a.lang == lang and a.published and a.visibility == "public"}
    top = {key for key, category in content.categories.items() if category.parent is None}
    assert top <= public, top - public  # a card reading "0 articles" is a dead end
    page = soup(sample_client.get(f"/{lang}/using-the-help-center/"))
    assert len(page.select("main a[href^='/" + lang + "/articles/']")) >= 2
