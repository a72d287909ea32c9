"""Every article page carries JSON-LD that parses and agrees with what the page shows."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.web.structured import script_json
from tests.conftest import ContentTree


def graph_of(html: str) -> tuple[BeautifulSoup, dict[str, dict[str, Any]]]:
    soup = BeautifulSoup(html, "html.parser")
    scripts = soup.select('script[type="application/ld+json"]')
    assert len(scripts) == 1
    data = json.loads(scripts[0].string or "")
    assert data["@context"] == "https://schema.org"
    return soup, {node["@type"]: node for node in data["@graph"]}


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def check_breadcrumbs(soup: BeautifulSoup, crumbs: dict[str, Any], canonical: str) -> None:
    items = crumbs["itemListElement"]
    assert [i["position"] for i in items] == list(range(1, len(items) + 1))
    assert items[-1]["item"] == canonical
    assert items[-1]["name"] == soup.select_one("h1").get_text(strip=True)  # type: ignore[union-attr]
    links = soup.select("nav.breadcrumbs a")
    assert [i["name"] for i in items[:-1]] == [a.get_text(strip=True) for a in links]
    assert [i["item"] for i in items[:-1]] == ["http://testserver" + str(a["href"]) for a in links]


@pytest.mark.parametrize(("url", "answer_words"), [
    ("/en/articles/premium-support-commitment", ["6", "months", "refunded"]),
    ("/pt/articles/suporte-premium-compromisso", ["6", "meses", "reembolsado"]),
    ("/fr/articles/support-premium-engagement", ["6", "mois", "remboursé"]),
])
def test_faq_pages_carry_a_faqpage_with_the_question_and_its_answer(
        sample_client: TestClient, url: str, answer_words: list[str]) -> None:
    soup, graph = graph_of(sample_client.get(url).text)
    assert set(graph) == {"FAQPage", "BreadcrumbList"}
    faq = graph["FAQPage"]
    canonical = soup.select_one('link[rel="canonical"]')["href"]  # type: ignore[index]
    assert faq["url"] == canonical and faq["inLanguage"] == url[1:3]
    question = faq["mainEntity"][0]
    assert question["@type"] == "Question"
    assert question["name"] == soup.select_one("h1").get_text(strip=True)  # type: ignore[union-attr]
    answer = question["acceptedAnswer"]
    assert answer["@type"] == "Answer"
    body = soup.select_one(".article-body").get_text(" ")  # type: ignore[union-attr]
    # the answer is the text of the page's answer, policy values included
    assert words(answer["text"]) <= words(body)
    assert len(answer["text"]) > 0.8 * len(re.sub(r"\s+", " ", body).strip())
    assert all(word in words(answer["text"]) for word in answer_words)
    check_breadcrumbs(soup, graph["BreadcrumbList"], canonical)


def test_tutorials_carry_a_techarticle(sample_client: TestClient) -> None:
    soup, graph = graph_of(sample_client.get("/fr/articles/comment-rechercher").text)
    assert set(graph) == {"TechArticle", "BreadcrumbList"}
    article = graph["TechArticle"]
    assert article["headline"] == soup.select_one("h1").get_text(strip=True)  # type: ignore[union-attr]
    assert article["description"] == soup.select_one('meta[name="description"]')["content"]  # type: ignore[index]
    assert article["dateModified"] == soup.select_one("header time")["datetime"]  # type: ignore[index]
    assert article["articleSection"] == "Utiliser le centre d'aide" and article["inLanguage"] == "fr"
    check_breadcrumbs(soup, graph["BreadcrumbList"], article["url"])
    names = [i["name"] for i in graph["BreadcrumbList"]["itemListElement"]]
    assert names[1:3] == ["Utiliser le centre d'aide", article["headline"]]  # the category, then the page


def test_videos_carry_a_videoobject_with_the_transcript(sample_client: TestClient) -> None:
    soup, graph = graph_of(sample_client.get("/pt/articles/video-codigo-de-suporte-e-codigo-vip").text)
    assert set(graph) == {"VideoObject", "BreadcrumbList"}
    video = graph["VideoObject"]
    assert video["name"] == soup.select_one("h1").get_text(strip=True)  # type: ignore[union-attr]
    assert video["contentUrl"] == soup.select_one("video")["src"]  # type: ignore[index]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", video["uploadDate"])
    transcript = soup.select_one(".transcript .article-body").get_text(" ")  # type: ignore[union-attr]
    assert video["transcript"] and words(video["transcript"]) <= words(transcript)
    assert video["description"] == soup.select_one('meta[name="description"]')["content"]  # type: ignore[index]


def test_json_ld_cannot_break_out_of_its_script_element(make_client: Any, tree: ContentTree) -> None:
    title = "</script><script>alert('x')</script> <!-- & more"
    tree.add("en", "tricky", title=title, body="Answer with </script> and <!-- in it & more.")
    response = make_client(tree.root).get("/en/articles/tricky")
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.DOTALL)
    assert raw is not None
    assert "<" not in raw.group(1) and ">" not in raw.group(1) and "&" not in raw.group(1)
    _, graph = graph_of(response.text)
    assert graph["FAQPage"]["name"] == title
    assert "</script> and <!-- in it & more" in graph["FAQPage"]["mainEntity"][0]["acceptedAnswer"]["text"]
    assert json.loads(script_json({"a": "<&>\u2028"})) == {"a": "<&>\u2028"}


def test_every_published_sample_page_has_valid_json_ld(sample_client: TestClient) -> None:
    articles = sample_client.get("/api/v1/articles", params={"limit": 100}).json()["results"]
    assert len(articles) >= 21  # the six editors' guides are internal
    expected = {"faq": "FAQPage", "tutorial": "TechArticle", "video": "VideoObject"}
    for article in articles:
        _, graph = graph_of(sample_client.get(article["url"]).text)
        assert set(graph) == {expected[article["type"]], "BreadcrumbList"}, article["url"]
