"""What the search page and the suggest API give a visitor besides results: the language
switcher keeps the search, and each suggestion names its type and category."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def test_the_language_switcher_of_the_search_page_keeps_the_query_and_filters(sample_client: TestClient) -> None:
    html = sample_client.get("/en/search", params={"q": "premium support", "type": "faq"}).text
    switcher = html[html.index('class="languages"'):]
    for lang in ("pt", "fr"):
        assert f'href="/{lang}/search?q=premium+support&amp;type=faq" hreflang="{lang}"' in switcher
    empty = sample_client.get("/en/search").text
    assert 'href="/fr/search" hreflang="fr"' in empty


def test_suggestions_name_their_type_and_category_in_the_language_asked(sample_client: TestClient) -> None:
    body = sample_client.get("/api/v1/suggest", params={"q": "code supp", "lang": "fr"}).json()
    found = {s["slug"]: s for s in body["suggestions"]}
    video = found["video-code-support-et-code-vip"]
    assert video["type"] == "video" and video["type_label"] == "Vidéo"
    assert video["category"] == "support-codes"
    categories = sample_client.get("/fr/").text
    assert video["category_title"] and video["category_title"] != "support-codes"
    assert re.search(re.escape(video["category_title"]), categories)


def test_the_search_box_carries_the_see_all_results_text_translated(sample_client: TestClient) -> None:
    html = sample_client.get("/fr/articles/comment-rechercher").text
    assert 'data-suggest-all="Voir tous les résultats pour « %(query)s »"' in html
