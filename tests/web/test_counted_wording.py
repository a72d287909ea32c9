"""Wording that counts or names things reads right in every language: counted reasons and hints
use the catalogs' plural forms, the home page never says "0 FAQs", and the feedback question
fits every article type."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from tests.admin_support import signed_in
from tests.conftest import ContentTree, MakeClient, services_of

LINK_ONE = "Before.\n\nSee [the terms](../accounts/terms.md).\n"
LINK_TWO = "Before.\n\nSee [the terms](../accounts/terms.md) and [the fees](../accounts/fees.md).\n"


def soup(response: Any) -> BeautifulSoup:
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def vote_no(client: TestClient, slug: str, reason: str | None) -> None:
    """A No from a new visitor; the editor's session is kept."""
    session = client.cookies.get("kb_session")
    client.cookies.clear()
    body: dict[str, Any] = {"helpful": False, **({"reason": reason} if reason else {})}
    assert client.post(f"/api/v1/articles/en/{slug}/votes", json=body).status_code == 201
    client.cookies.clear()
    if session:
        client.cookies.set("kb_session", session)


@pytest.fixture
def flagged(make_client: MakeClient, tree: ContentTree) -> TestClient:
    tree.add("en", "one-link", id=1, title="One link", body=LINK_ONE)
    tree.add("en", "two-links", id=2, title="Two links", body=LINK_TWO)
    tree.add("en", "sign-in", id=3, title="Sign in", category="accounts")
    client = signed_in(make_client(tree.root, vote_rate_limit=1000), "ed", "editor")
    for _ in range(3):
        vote_no(client, "sign-in", "incorrect")
    for _ in range(7):
        vote_no(client, "sign-in", None)
    return client


def reasons(client: TestClient, lang: str) -> dict[tuple[str, str], str]:
    page = soup(client.get("/admin/health", headers={"Accept-Language": lang}))
    return {(row["data-slug"], item["data-flag"]): item.get_text(" ", strip=True)
            for row in page.select("tr[data-slug]") for item in row.select("li[data-flag]")}


def test_health_reasons_count_with_the_plural_forms_of_each_language(flagged: TestClient) -> None:
    english = {(r.article.slug, f.name): f.reason for r in
               flagged.portal.call(services_of(flagged).health.report).rows for f in r.flags}  # type: ignore[union-attr]
    assert english[("one-link", "broken_links")] == (
        "1 broken link; line 13: link to a missing article or file: ../accounts/terms.md")
    assert english[("two-links", "broken_links")] == (
        "2 broken links; first on line 13: link to a missing article or file: ../accounts/terms.md")
    assert english[("sign-in", "reported_incorrect")].startswith("3 readers said it is incorrect")
    assert "(Wilson lower bound of 10 votes in the last 30 days)" in english[("sign-in", "helpfulness_fell")]

    pt = reasons(flagged, "pt")
    assert "1 link quebrado; linha 13:" in pt[("one-link", "broken_links")]
    assert "2 links quebrados; o primeiro na linha 13:" in pt[("two-links", "broken_links")]
    assert "3 leitores disseram que está incorreto" in pt[("sign-in", "reported_incorrect")]
    assert "limite inferior de Wilson de 10 votos" in pt[("sign-in", "helpfulness_fell")]
    fr = reasons(flagged, "fr")
    assert "1 lien cassé ; ligne 13" in fr[("one-link", "broken_links")]
    assert "3 lecteurs l'ont dit incorrect" in fr[("sign-in", "reported_incorrect")]
    de = reasons(flagged, "de")
    assert "2 defekte Links; der erste in Zeile 13" in de[("two-links", "broken_links")]
    assert "3 Leser haben es seit" in de[("sign-in", "reported_incorrect")]
    # the editor and the article list's badges say the same
    editor = soup(flagged.get("/admin/articles/en/one-link", headers={"Accept-Language": "it"}))
    flag = editor.select_one("li[data-flag=broken_links]")
    assert flag is not None and "1 link non funzionante; riga 13" in flag.get_text()
    badges = soup(flagged.get("/admin/articles", headers={"Accept-Language": "es"}))
    badge = badges.select_one("tr[data-slug=two-links] [data-flag=broken_links]")
    assert badge is not None and "2 enlaces rotos; el primero en la línea 13" in str(badge["title"])


def test_counted_hints_use_plural_forms(flagged: TestClient) -> None:
    signed_in(flagged, "ann", "analyst")
    periods = soup(flagged.get("/admin/analytics", headers={"Accept-Language": "pt"}))
    assert "Últimos 30 dias" in periods.get_text()
    page = soup(flagged.get("/en/articles/one-link"))
    assert page.select_one(".feedback-hint").get_text().startswith("Up to 2,000 characters.")


def test_the_home_page_names_only_the_kinds_of_article_it_has(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "pay", id=1, title="Pay")
    tree.add("en", "invoice", id=2, title="Invoice")
    tree.add("pt", "pagar", id=1, title="Pagar", type="tutorial")
    client = make_client(tree.root)
    english = soup(client.get("/en/"))
    hero = english.select_one(".hero-lead")
    assert hero is not None and hero.get_text() == "2 FAQs."
    cards = {card.h3.get_text(): card.select_one(".count").get_text() for card in english.select(".category-cards > .card")}
    assert cards == {"Billing": "2 articles", "Accounts": "No articles yet."}
    portuguese = soup(client.get("/pt/"))
    assert portuguese.select_one(".hero-lead").get_text() == "1 tutorial ou vídeo explicativo."
    assert "0" not in portuguese.select_one(".category-cards").get_text()
    billing = soup(client.get("/en/billing/"))
    topics = billing.select_one(".subcategories")
    assert topics is not None and topics.get_text(" ", strip=True) == "Topics Refunds"  # not "Refunds (0)"


QUESTION = {
    "en": "Was this article helpful?", "pt": "Este artigo foi útil?", "fr": "Cet article vous a-t-il été utile ?",
    "de": "War dieser Artikel hilfreich?", "it": "Questo articolo ti è stato utile?",
    "es": "¿Te ha resultado útil este artículo?",
}


@pytest.mark.parametrize("lang", sorted(QUESTION))
def test_the_feedback_question_fits_every_article_type(sample_client: TestClient, lang: str) -> None:
    site = services_of(sample_client).site
    by_type = {a.type: a for a in site.published(lang)}
    assert {"faq", "tutorial"} <= set(by_type)
    for article in by_type.values():
        page = soup(sample_client.get(f"/{lang}/articles/{article.slug}"))
        question = page.select_one("section.feedback h2")
        assert question is not None and question.get_text() == QUESTION[lang], (article.type, article.slug)
    faqs = soup(sample_client.get(f"/{lang}/{by_type['faq'].category}/"))
    assert {h.get_text() for h in faqs.select("section.feedback h2")} == {QUESTION[lang]}
