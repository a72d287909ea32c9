"""Full-text search as customers use it: the right article first, in their language, with typos."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import ContentTree, MakeClient
from tests.search_support import search


def slugs(body: dict[str, Any]) -> list[str]:
    return [r["slug"] for r in body["results"]]


# --- the questions customers ask --------------------------------------------------------------


@pytest.mark.parametrize(("query", "lang", "expected"), [
    ("cancel premium support", "en", "premium-support-commitment"),
    ("where is my support code", "en", "support-code-and-vip-code"),
    ("Where is my support code?", "en", "support-code-and-vip-code"),
    ("can I get a refund for premium support", "en", "premium-support-commitment"),
    ("onde encontro o meu código de suporte", "pt", "codigo-de-suporte-e-codigo-vip"),
    ("codigo de suporte", "pt", "codigo-de-suporte-e-codigo-vip"),
    ("résilier le support premium", "fr", "support-premium-engagement"),
    ("rembourse support premium", "fr", "support-premium-engagement"),
])
def test_questions_customers_type_find_the_right_article_first(sample_client: TestClient, query: str, lang: str, expected: str) -> None:
    body = search(sample_client, query, lang)
    assert body["results"], body
    assert body["results"][0]["slug"] == expected
    assert all(r["lang"] == lang for r in body["results"])


def test_results_have_the_documented_shape(sample_client: TestClient) -> None:
    body = search(sample_client, "vip code")
    assert set(body) == {"query", "total", "results", "suggestion", "facets", "other_languages"}
    assert body["other_languages"] == []  # only when nothing matches in the language asked for
    first = body["results"][0]
    assert set(first) == {"id", "lang", "slug", "title", "summary", "category", "type", "url", "score", "highlight"}
    assert first["url"] == f"/en/articles/{first['slug']}"
    assert body["total"] >= len(body["results"])
    assert set(body["facets"]) == {"category", "type"}


# --- ranking ---------------------------------------------------------------------------------


def test_title_matches_rank_before_headings_and_tags_before_the_body(make_client: MakeClient, tree: ContentTree) -> None:
    filler = " ".join(["Some text about invoices and payments."] * 5)
    tree.add("en", "body-only", id=1, title="Paying invoices", body=f"{filler} The router restarts. Router again.")
    tree.add("en", "in-heading", id=2, title="Network help", body=f"## Restart the router\n\n{filler}")
    tree.add("en", "in-title", id=3, title="Router keeps restarting", body=filler)
    tree.add("en", "in-tags", id=4, title="Connection problems", tags=["router"], body=filler)
    body = search(make_client(tree.root), "router")
    order = slugs(body)
    assert order[0] == "in-title"
    assert order[-1] == "body-only"
    assert set(order[1:3]) == {"in-heading", "in-tags"}


# --- languages: stemming and accents -----------------------------------------------------------


@pytest.mark.parametrize(("lang", "text", "query"), [
    ("en", "How cancellations are handled", "cancelled"),
    ("en", "Running a backup", "runs"),
    ("pt", "Pedido de reembolso", "reembolsos"),
    ("pt", "O seu código de suporte", "codigo"),
    ("fr", "Demander un remboursement", "remboursé"),
    ("fr", "Résiliation de l'offre", "resiliation"),
    ("de", "Rückerstattungen beantragen", "Ruckerstattung"),
    ("de", "Kündigung des Vertrags", "kundigung"),
    ("it", "Richiesta di rimborsi", "rimborso"),
    ("it", "Perché la città", "citta"),
    ("es", "Dónde está mi código", "codigos"),
    ("es", "Cancelación del servicio", "cancelacion"),
])
def test_each_language_stems_and_folds_accents(make_client: MakeClient, tree: ContentTree, lang: str, text: str, query: str) -> None:
    tree.add(lang, "target", id=1, title=text, summary="Summary.", body="Nothing else here.")
    tree.add(lang, "other", id=2, title="Unrelated page", summary="Summary.", body="Completely different words.")
    tree.add("en" if lang != "en" else "fr", "elsewhere", id=3, title=text, body="Other language.")
    body = search(make_client(tree.root), query, lang)
    assert slugs(body) == ["target"]


def test_a_search_runs_in_the_pages_language(sample_client: TestClient) -> None:
    html = sample_client.get("/pt/search", params={"q": "suporte premium"}).text
    assert "/pt/search/click?to=suporte-premium-compromisso" in html
    assert "/en/" not in "".join(part.split('"')[0] for part in html.split('href="')[1:] if "search/click" in part)


# --- typos and "did you mean" ---------------------------------------------------------------


def test_misspelled_words_still_find_the_article_and_suggest_the_spelling(sample_client: TestClient) -> None:
    # "how-to-search" quotes these very typos: a word the index has is searched as typed
    # (tests/test_search_ranking.py), so it comes first and the corrections' articles follow.
    body = search(sample_client, "premum suport")
    assert "premium-support" in [r["category"] for r in body["results"][:3]]
    assert body["suggestion"] == "premium support"
    body = search(sample_client, "suport cod")
    assert "support-code-and-vip-code" in slugs(body)[:3]
    assert body["suggestion"] == "support code"


def test_no_suggestion_when_every_word_is_known(sample_client: TestClient) -> None:
    assert search(sample_client, "premium support")["suggestion"] is None
    assert search(sample_client, "reembolsos", "pt")["suggestion"] is None  # an inflection, not a typo


def test_did_you_mean_on_the_results_page_links_to_the_corrected_search(sample_client: TestClient) -> None:
    html = sample_client.get("/en/search", params={"q": "vip coed"}).text
    assert 'href="/en/search?q=vip+code"' in html


# --- phrases and exclusions -----------------------------------------------------------------


@pytest.fixture
def phrase_client(make_client: MakeClient, tree: ContentTree) -> TestClient:
    tree.add("en", "adjacent", id=1, title="Contract terms", body="The minimum commitment is six months.")
    tree.add("en", "apart", id=2, title="Contract options", body="A commitment of at least the minimum.")
    tree.add("en", "refunds", id=3, title="Contract refunds", body="The minimum commitment is never refunded.")
    return make_client(tree.root)


def test_quoted_phrases_match_words_together_and_in_order(phrase_client: TestClient) -> None:
    assert set(slugs(search(phrase_client, "minimum commitment"))) == {"adjacent", "apart", "refunds"}
    assert set(slugs(search(phrase_client, '"minimum commitment"'))) == {"adjacent", "refunds"}
    assert set(slugs(search(phrase_client, '"commitment minimum"'))) == set()


def test_a_minus_excludes_a_word_or_a_phrase(phrase_client: TestClient) -> None:
    assert set(slugs(search(phrase_client, "contract -refunded"))) == {"adjacent", "apart"}
    assert set(slugs(search(phrase_client, 'contract -"minimum commitment"'))) == {"apart"}
    assert set(slugs(search(phrase_client, '"minimum commitment" -refunded'))) == {"adjacent"}


def test_an_unbalanced_quote_is_a_phrase_to_the_end(phrase_client: TestClient) -> None:
    assert set(slugs(search(phrase_client, '"minimum commitment'))) == {"adjacent", "refunds"}


# --- filters, facets, pagination, highlighting -----------------------------------------------


@pytest.fixture
def faceted_client(make_client: MakeClient, tree: ContentTree) -> TestClient:
    layout = [("billing", "faq")] * 3 + [("billing", "tutorial")] * 2 + [("accounts", "faq")] * 4 + [("refunds", "video")]
    for number, (category, kind) in enumerate(layout, start=1):
        extra = {"video": "https://media.example.com/v.mp4"} if kind == "video" else {}
        tree.add("en", f"page-{number}", id=number, title=f"Password help {number}", category=category,
                 type=kind, body=f"Reset the password, step {number}.", **extra)
    tree.add("en", "unrelated", id=99, title="Invoices", body="Nothing about it.")
    return make_client(tree.root)


def test_filters_narrow_results_and_facets_count_them(faceted_client: TestClient) -> None:
    body = search(faceted_client, "password")
    assert body["total"] == 10
    assert body["facets"] == {"category": {"billing": 5, "accounts": 4, "refunds": 1},
                              "type": {"faq": 7, "tutorial": 2, "video": 1}}
    billing = search(faceted_client, "password", category="billing")
    assert billing["total"] == 5 and {r["category"] for r in billing["results"]} == {"billing"}
    # each facet keeps its own choices visible: categories count with the type filter only
    assert billing["facets"]["category"] == {"billing": 5, "accounts": 4, "refunds": 1}
    assert billing["facets"]["type"] == {"faq": 3, "tutorial": 2}
    both = search(faceted_client, "password", category="billing", type="tutorial")
    assert both["total"] == 2 and {r["type"] for r in both["results"]} == {"tutorial"}


def test_pages_of_results_do_not_overlap(faceted_client: TestClient) -> None:
    first = search(faceted_client, "password", limit=4)
    second = search(faceted_client, "password", limit=4, offset=4)
    third = search(faceted_client, "password", limit=4, offset=8)
    seen = slugs(first) + slugs(second) + slugs(third)
    assert len(seen) == len(set(seen)) == 10
    assert search(faceted_client, "password", offset=10)["results"] == []
    assert search(faceted_client, "password", offset=10)["total"] == 10


def test_the_results_page_paginates_and_links_facets(make_client: MakeClient, tree: ContentTree) -> None:
    for number in range(1, 26):
        tree.add("en", f"page-{number}", id=number, title=f"Password help {number}", body="Password.")
    client = make_client(tree.root)
    html = client.get("/en/search", params={"q": "password", "page": 3}).text
    assert html.count('class="result"') == 5
    assert "Page 3 of 3" in html and 'rel="prev"' in html and 'rel="next"' not in html
    assert 'start="21"' in html
    assert 'href="/en/search?q=password&amp;category=billing"' in html
    beyond = client.get("/en/search", params={"q": "password", "page": 9})
    assert beyond.status_code == 200 and 'class="result"' not in beyond.text


def test_excerpts_mark_the_matched_words_and_escape_html(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "escaped", id=1, title="Odd page",
             body="Type `<script>alert(1)</script>` then ask for a refund. Refunds take a week.")
    body = search(make_client(tree.root), "refunds")
    highlight = body["results"][0]["highlight"]
    assert "<mark>refund</mark>" in highlight and "<mark>Refunds</mark>" in highlight
    assert "<script>" not in highlight and "&lt;script&gt;" in highlight


def test_zero_results_offer_popular_articles_categories_and_support(sample_client: TestClient) -> None:
    html = sample_client.get("/en/search", params={"q": "xylophone zeppelin"}).text
    assert "No article matches your search" in html
    assert 'href="/en/articles/' in html.split("Popular articles", 1)[1]
    assert 'href="/en/support-codes/"' in html
    assert 'href="mailto:support@example.com"' in html.split("no-results", 1)[1]


# --- suggestions as you type ------------------------------------------------------------------


def test_suggest_completes_the_last_word_and_forgives_typos(sample_client: TestClient) -> None:
    def titles(q: str, lang: str = "en") -> list[str]:
        response = sample_client.get("/api/v1/suggest", params={"q": q, "lang": lang})
        assert response.status_code == 200
        return [s["title"] for s in response.json()["suggestions"]]

    assert titles("vip co") and all("VIP" in t for t in titles("vip co"))
    assert any("Support code and VIP code" in t for t in titles("suport cod"))
    assert any("Premium Support" in t for t in titles("premum"))
    assert any("código" in t.lower() for t in titles("codig", "pt"))
    assert titles("") == [] and titles("   ") == []
    assert len(titles("s")) <= 8
    body = sample_client.get("/api/v1/suggest", params={"q": "upgr", "lang": "en"}).json()
    assert body["suggestions"][0]["url"] == "/en/articles/upgrade-premium-support"


def test_the_openapi_document_describes_search_and_suggest(sample_client: TestClient) -> None:
    document = sample_client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/search", "/api/v1/suggest"} <= set(document["paths"])
    assert "SearchResults" in document["components"]["schemas"]
