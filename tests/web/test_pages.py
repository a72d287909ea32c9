"""Pages customers see: home, categories, articles, permalinks, errors, caching."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, NoReturn

from bs4 import BeautifulSoup, Tag
from starlette.testclient import TestClient

from kb.content.model import Article
from tests.conftest import ContentTree, MakeClient


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def test_root_redirects_to_the_visitors_language(sample_client: TestClient) -> None:
    assert sample_client.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"}).headers["location"] == "/pt/"
    assert sample_client.get("/", headers={"Accept-Language": "fr;q=0.4, ja;q=0.9"}).headers["location"] == "/fr/"
    assert sample_client.get("/", headers={"Accept-Language": "ja"}).headers["location"] == "/en/"
    assert sample_client.get("/").headers["location"] == "/en/"


def test_home_page_counts_live_content_and_lists_categories(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/"))
    hero = page.select_one(".hero-lead").get_text()
    # the two editors' guides are internal: not counted for the public
    assert "4 FAQs" in hero and "3 tutorials and explainer videos" in hero
    assert page.select_one("form[role=search] input[name=q]") is not None
    titles = [a.get_text() for a in page.select(".category-cards h3 a")]
    assert titles[0] == "Premium Support"
    assert len(page.select("section[aria-labelledby=recent-title] li")) == 6


def test_home_page_speaks_portuguese(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/pt/"))
    assert page.html["lang"] == "pt"
    assert page.h1.get_text() == "Base de conhecimento"
    assert page.select_one(".tagline").get_text() == "Como podemos ajudar? Pesquise nas nossas respostas ou escolha um tema abaixo."


def test_category_page_stacks_faq_answers_with_permalink_and_feedback(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/premium-support/"))
    entries = page.select("article.faq-entry")
    assert len(entries) == 2
    for entry in entries:
        assert entry.select_one(".article-body p") is not None
        faq_id = entry["id"].removeprefix("faq-")
        assert entry.select_one(".permalink a")["href"] == f"/en/premium-support/?open={faq_id}#faq-{faq_id}"
        assert entry.select_one("section.feedback h2").get_text() == "Was this article helpful?"
    guides = [a.get_text() for a in page.select("section[aria-labelledby=guides-title] a")]
    assert any("upgrade" in g.lower() for g in guides)
    crumbs = [li.get_text(strip=True) for li in page.select(".breadcrumbs li")]
    assert crumbs == ["Knowledge base", "Premium Support"]


def _heading_level(tag: Tag) -> int:
    return int(tag.name[1])


def test_stacked_faqs_repeat_no_id_and_nest_their_sections_under_their_titles(make_client: MakeClient, tree: ContentTree) -> None:
    body = ("Short answer, see [the details](#details).\n\n## Details\n\nMore.\n\n### Limits\n\nFew.\n\n"
            "## Steps\n\n1. Do it.\n")
    tree.add("en", "first-question", id=1, body=body)
    tree.add("en", "second-question", id=2, body=body)
    page = soup(make_client(tree.root).get("/en/billing/"))
    ids = [tag["id"] for tag in page.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    entries = page.select("article.faq-entry")
    assert len(entries) == 2
    for entry in entries:
        title = entry.find(["h1", "h2", "h3", "h4", "h5", "h6"])
        assert title is not None and title["id"] == f"{entry['id']}-title"
        sections = entry.select(".article-body :is(h1, h2, h3, h4, h5, h6)")
        assert [(s.name, s.get_text()) for s in sections] == [("h3", "Details"), ("h4", "Limits"), ("h3", "Steps")]
        levels = [_heading_level(title)] + [_heading_level(s) for s in sections]
        assert all(level > levels[0] for level in levels[1:])
        assert all(after <= before + 1 for before, after in itertools.pairwise(levels))
        # the in-page link still leads to this FAQ's own section
        target = entry.select_one(".article-body a[href^='#']")["href"][1:]
        assert entry.find(id=target).get_text() == "Details"
    # the article's own page keeps plain ids and levels
    article = soup(make_client(tree.root).get("/en/articles/first-question"))
    assert article.select_one(".article-body h2#details") is not None


def test_policy_snippets_shown_by_two_stacked_faqs_keep_unique_ids(make_client: MakeClient, sample_tree: Path) -> None:
    # premium-support-commitment already shows "## Can I get a refund?" and ::terms[premium]
    (sample_tree / "en" / "premium-support" / "premium-refunds.md").write_text(
        "---\nid: 900\ntitle: Premium refunds\nsummary: Refunds.\ncategory: premium-support\ntype: faq\n"
        "status: published\nupdated: 2026-12-01\n---\n\n## Can I get a refund?\n\nNo.\n\n::terms[premium]\n",
        encoding="utf-8")
    page = soup(make_client(sample_tree).get("/en/premium-support/"))
    entries = page.select("article.faq-entry")
    assert len(entries) == 3
    ids = [tag["id"] for tag in page.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for entry in entries:  # every in-page link of an FAQ leads into that FAQ
        for link in entry.select(".article-body a[href^='#']"):
            assert entry.find(id=link["href"][1:]) is not None, link
        for labelled in entry.select(".article-body [aria-labelledby]"):
            assert all(entry.find(id=part) for part in labelled["aria-labelledby"].split())


def test_comments_are_hidden_and_github_alerts_are_callouts_on_the_page(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "imported", body=(
        "<!-- internal: ask legal before publishing -->\nIntro.\n\n> [!IMPORTANT]\n> Back up first.\n\n"
        "See [the guide][01].\n\n<!-- links -->\n[01]: https://example.com/guide\n"))
    tree.add("pt", "importado", body="> [!CAUTION]\n> Atenção.\n")
    client = make_client(tree.root)
    page = soup(client.get("/en/articles/imported"))
    body = page.select_one(".article-body")
    assert "legal" not in page.get_text() and "<!--" not in body.get_text()
    callout = body.select_one("div.admonition.important")
    assert callout.select_one(".admonition-title").get_text() == "Important"
    assert "Back up first." in callout.get_text()
    assert body.select_one("a[href='https://example.com/guide']").get_text() == "the guide"
    callout = soup(client.get("/pt/articles/importado")).select_one(".article-body div.admonition.caution")
    assert callout.select_one(".admonition-title").get_text() == "Cuidado"


def test_category_page_paginates(make_client: MakeClient, tree: ContentTree) -> None:
    for number in range(1, 6):
        tree.add("en", f"question-{number}", id=number, updated=f"2026-01-0{number}")
    client = make_client(tree.root, page_size=2)
    first = soup(client.get("/en/billing/"))
    assert len(first.select("article.faq-entry")) == 2
    assert first.select_one("a[rel=next]")["href"] == "?page=2"
    last = soup(client.get("/en/billing/?page=3"))
    assert len(last.select("article.faq-entry")) == 1
    assert client.get("/en/billing/?page=4").status_code == 400
    assert client.get("/en/billing/?page=abc").status_code == 400


def test_subcategories_are_listed_with_counts(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "money-back", category="refunds")
    page = soup(make_client(tree.root).get("/en/billing/"))
    assert page.select_one(".subcategories a").get_text() == "Refunds"
    assert "(1)" in page.select_one(".subcategories").get_text()


def test_article_page_shows_everything_a_reader_needs(sample_client: TestClient) -> None:
    response = sample_client.get("/en/articles/how-to-search")
    page = soup(response)
    assert page.h1.get_text() == "How to search the help center"
    assert page.select_one(".lead").get_text()
    assert page.select_one("time[datetime='2026-11-20']") is not None
    assert len(page.select("nav.toc li")) >= 3
    assert page.select_one("link[rel=canonical]")["href"].endswith("/en/articles/how-to-search")
    hreflangs = {link["hreflang"] for link in page.select("link[rel=alternate][hreflang]")}
    assert hreflangs == {"en", "pt", "fr", "de", "it", "es"}
    assert page.select_one("meta[name=description]")["content"]
    assert page.select_one("meta[property='og:title']")["content"] == "How to search the help center"
    others = {a["hreflang"] for a in page.select("section[aria-labelledby=translations-title] a")}
    assert others == {"pt", "fr", "de", "it", "es"}
    assert page.select("section[aria-labelledby=related-title] li")
    assert page.select_one("section.feedback") is not None
    assert page.select_one("a.skip-link")["href"] == "#main"


def test_video_article_has_a_player_and_a_transcript(sample_client: TestClient) -> None:
    page = soup(sample_client.get("/en/articles/video-support-code-and-vip-code"))
    video = page.select_one("figure.video video")
    assert video is not None and video.has_attr("controls")
    assert page.select_one("section.transcript h2").get_text() == "Transcript"
    assert page.select_one("section.transcript .article-body p") is not None


def test_raw_html_and_javascript_links_in_markdown_are_inert(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "hostile", body=(
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) and [data](data:text/html;base64,PHNjcmlwdD4=)\n"))
    page = soup(make_client(tree.root).get("/en/articles/hostile"))
    body = page.select_one(".article-body")
    assert body.find("script") is None and body.find("img") is None
    assert "<script>alert(1)</script>" in body.get_text()
    assert all(not a.get("href", "").startswith(("javascript:", "data:")) for a in page.find_all("a"))


def test_drafts_are_not_served(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "draft-one", status="draft")
    tree.add("en", "live-one", id=2)
    client = make_client(tree.root)
    assert client.get("/en/articles/draft-one").status_code == 404
    assert "draft-one" not in client.get("/en/billing/").text


def test_permalink_redirects_to_the_visitors_language(sample_client: TestClient) -> None:
    assert sample_client.get("/faq/3", headers={"Accept-Language": "fr"}).headers["location"] == "/fr/articles/code-support-et-code-vip"
    assert sample_client.get("/faq/3").headers["location"] == "/en/articles/support-code-and-vip-code"
    assert sample_client.get("/faq/999").status_code == 404
    assert sample_client.get("/faq/abc").status_code == 404


def test_permalink_falls_back_to_another_language(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("fr", "seulement-en-francais", id=7)
    client = make_client(tree.root)
    assert client.get("/faq/7", headers={"Accept-Language": "en"}).headers["location"] == "/fr/articles/seulement-en-francais"


def test_404_page_is_in_the_visitors_language_with_a_search_box(sample_client: TestClient) -> None:
    response = sample_client.get("/fr/articles/nothing-here")
    assert response.status_code == 404
    page = soup(response)
    assert page.h1.get_text() == "Page introuvable"
    assert page.select_one("main form[role=search]") is not None
    other = sample_client.get("/no/such/page", headers={"Accept-Language": "pt"})
    assert other.status_code == 404 and soup(other).h1.get_text() == "Página não encontrada"


def test_unknown_language_is_a_404(sample_client: TestClient) -> None:
    page = sample_client.get("/ja/")
    assert page.status_code == 404
    assert "<h1>Page not found</h1>" in page.text, page.text


def test_pages_answer_304_when_unchanged(sample_client: TestClient) -> None:
    first = sample_client.get("/en/articles/support-code-and-vip-code")
    etag = first.headers["etag"]
    again = sample_client.get("/en/articles/support-code-and-vip-code", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = sample_client.get("/en/articles/support-code-and-vip-code", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_text_is_gzipped(sample_client: TestClient) -> None:
    response = sample_client.get("/en/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


def test_static_assets_have_hashed_urls_and_long_cache(sample_client: TestClient) -> None:
    href = soup(sample_client.get("/en/")).select_one("link[rel=stylesheet]")["href"]
    assert href.startswith("/static/css/kb.css?v=")
    response = sample_client.get(href)
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]


def test_images_next_to_articles_are_served_but_sources_are_not(make_client: MakeClient, tree: ContentTree) -> None:
    (tree.root / "en" / "billing").mkdir(parents=True)
    (tree.root / "en" / "billing" / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    tree.add("en", "with-image", body="![A screenshot](shot.png)\n")
    client = make_client(tree.root)
    page = soup(client.get("/en/articles/with-image"))
    assert page.select_one(".article-body img")["src"] == "/content/en/billing/shot.png"
    assert client.get("/content/en/billing/shot.png").content.startswith(b"\x89PNG")
    assert client.get("/content/en/billing/with-image.md").status_code == 404
    assert client.get("/content/categories.yaml").status_code == 404
    assert client.get("/content/../pyproject.toml").status_code == 404


def test_visitors_get_a_signed_httponly_samesite_cookie(sample_client: TestClient) -> None:
    cookie = sample_client.get("/en/").headers["set-cookie"]
    assert cookie.startswith("kb_visitor=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_crash_shows_a_500_page_without_a_traceback(tmp_path: Path, sample_tree: Path) -> None:
    from starlette.testclient import TestClient

    from kb.web.app import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for(tmp_path, sample_tree))

    def explode(article: Article) -> NoReturn:
        raise RuntimeError("secret internals /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.kb.site.rendered = explode
        page = client.get("/fr/articles/code-support-et-code-vip")
        assert page.status_code == 500
        assert "Traceback" not in page.text and "secret internals" not in page.text
        assert soup(page).h1.get_text() == "Un problème est survenu de notre côté"
        api = client.get("/api/v1/articles/en/support-code-and-vip-code")
        assert api.status_code == 500 and api.json() == {"error": "internal error"}
