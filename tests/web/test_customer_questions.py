"""How customers ask, and search across languages (issue 13).

An article's `questions:` (the phrasings customers use) are checked like every field, found by
search with the title's weight, listed as "Also answers" to a reader who came from a search, and
given by the API. When the reader's language has no result, the other languages' results are
shown, the default language first, each labelled with its language and saying whether the
article exists in the reader's language.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.content.loader import load_content
from kb.content.model import MAX_QUESTION_CHARS, MAX_QUESTIONS
from kb.editing.forms import ArticleForm
from kb.storage import searchlog
from tests.admin_support import open_form, signed_in
from tests.conftest import ContentTree, MakeClient, services_of


def soup(response: Any) -> BeautifulSoup:
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def problems_of(tree: ContentTree) -> list[str]:
    return [str(p) for p in load_content(tree.root).problems]


# --- the field ----------------------------------------------------------------------------------


def test_questions_are_an_optional_list_of_texts_kept_in_order(tree: ContentTree) -> None:
    tree.add("en", "refunds", id=1, questions=["Can I get my money back?", "  How do   refunds work? "])
    tree.add("en", "plain", id=2)
    content = load_content(tree.root)
    assert content.problems == []
    assert content.articles[("en", "refunds")].questions == ("Can I get my money back?", "How do refunds work?")
    assert content.articles[("en", "plain")].questions == ()


def test_bad_questions_are_reported_with_file_and_line(tree: ContentTree) -> None:
    path = tree.add("en", "not-a-list", id=1, questions="Can I get my money back?")
    tree.add("en", "empty-one", id=2, questions=["Fine?", "  "])
    tree.add("en", "numbers", id=3, questions=[1, 2])
    tree.add("en", "too-many", id=4, questions=[f"Question {n}?" for n in range(MAX_QUESTIONS + 1)])
    tree.add("en", "too-long", id=5, questions=["Short?", "x" * (MAX_QUESTION_CHARS + 1)])
    found = problems_of(tree)
    line = path.read_text().split("\n").index("questions: Can I get my money back?") + 1
    assert f"{path}:{line}: questions must be a list of questions, each a non-empty text" in found
    assert sum("questions must be a list of questions" in p for p in found) == 3
    assert any(p.endswith(f"questions: at most {MAX_QUESTIONS}, not {MAX_QUESTIONS + 1}") for p in found)
    assert any(f"question 2 is {MAX_QUESTION_CHARS + 1} characters long (at most {MAX_QUESTION_CHARS})" in p
               for p in found)
    assert all("/en/" in p for p in found)


# --- search ---------------------------------------------------------------------------------------


def test_a_question_is_searched_with_the_weight_of_a_title(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "plan-changes", id=1, title="Changing your offer", summary="Move to another offer.",
             body="The offers and how to change them. Some customers want to downgrade.",
             questions=["Can I downgrade my plan?"])
    tree.add("en", "downgrade-notes", id=2, title="Offer notes", summary="Notes about offers.",
             body="Downgrade rules: a downgrade takes effect at renewal. Downgrade requests are free.")
    client = make_client(tree.root)
    slugs = [r["slug"] for r in client.get("/api/v1/search", params={"q": "downgrade plan"}).json()["results"]]
    assert slugs == ["plan-changes"]  # "plan" is only in the question
    slugs = [r["slug"] for r in client.get("/api/v1/search", params={"q": "downgrade"}).json()["results"]]
    assert slugs[0] == "plan-changes", "one question outweighs three mentions in the body"


# --- "Also answers" -------------------------------------------------------------------------------


def also_answers(page: BeautifulSoup) -> list[str] | None:
    section = page.select_one("main section.also-answers")
    if section is None:
        return None
    heading = section.select_one("h2")
    assert heading is not None and heading.get_text(strip=True) == "Also answers"
    assert section["aria-labelledby"] == heading["id"]
    return [li.get_text(strip=True) for li in section.select("ul > li")]


def test_a_reader_who_came_from_a_search_result_sees_what_else_the_article_answers(client: TestClient) -> None:
    page = soup(client.get("/en/search", params={"q": "money back premium"}))
    link = page.select("ol.results a")[0]["href"]
    landed = client.get(link)
    assert landed.status_code == 302
    assert landed.headers["location"] == "/en/articles/premium-support-commitment?from=search"
    questions = also_answers(soup(client.get(landed.headers["location"])))
    assert questions is not None and "Can I get my money back if I stop Premium Support?" in questions
    assert also_answers(soup(client.get("/en/articles/premium-support-commitment"))) is None  # not from search


def test_also_answers_is_escaped_and_absent_without_questions(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "asked", id=1, questions=["Is <b>this</b> & that escaped?"])
    tree.add("en", "unasked", id=2)
    client = make_client(tree.root)
    page = client.get("/en/articles/asked?from=search")
    assert "Is &lt;b&gt;this&lt;/b&gt; &amp; that escaped?" in page.text
    assert also_answers(soup(page)) == ["Is <b>this</b> & that escaped?"]
    assert also_answers(soup(client.get("/en/articles/unasked?from=search"))) is None


def test_the_api_gives_an_articles_questions(sample_client: TestClient) -> None:
    body = sample_client.get("/api/v1/articles/fr/code-support-et-code-vip").json()
    assert "À quoi sert le code VIP ?" in body["questions"]
    assert sample_client.get("/api/v1/articles/en/premium-support-commitment").json()["questions"][0] == (
        "Can I cancel Premium Support before the end of my contract?")


# --- across languages -----------------------------------------------------------------------------


def languages_tree(tree: ContentTree) -> ContentTree:
    tree.add("en", "invoice-copies", id=1, title="Invoice copies", body="Download a duplicate of an invoice.")
    tree.add("fr", "copies-de-factures", id=1, title="Copies de factures",
             body="Télécharger un duplicata d'une facture (invoice).")
    tree.add("fr", "facture-pro-forma", id=2, title="Facture pro forma",
             body="Une facture pro forma n'est pas un duplicata.")
    tree.add("pt", "faturas", id=3, title="Faturas", body="Onde ver as faturas.")
    tree.add("de", "rechnungsnotizen", id=4, title="Rechnungsnotizen", body="Duplikat und duplicata.",
             visibility="internal")
    return tree


def test_when_the_readers_language_has_nothing_the_other_languages_answer_the_default_first(
        make_client: MakeClient, tree: ContentTree) -> None:
    client = make_client(languages_tree(tree).root)
    page = soup(client.get("/pt/search", params={"q": "duplicata"}))
    section = page.select_one("section.elsewhere")
    assert section is not None
    assert section.select_one("h2").get_text(strip=True) == "Resultados em outros idiomas"
    groups = section.select("section.elsewhere-language")
    assert [g.select_one("h3")["lang"] for g in groups] == ["en", "fr"]  # the default language first
    assert [g.select_one("h3").get_text(strip=True) for g in groups] == ["English", "Français"]
    results = [(li.select_one("h4 a")["hreflang"], li.select_one("h4 a").get_text(strip=True),
                li.select_one(".badge-lang")["lang"], li.select_one(".translation-note").get_text(strip=True))
               for li in section.select("li.result")]
    assert results == [("en", "Invoice copies", "en", "Ainda não traduzido para o seu idioma"),
                       ("fr", "Copies de factures", "fr", "Ainda não traduzido para o seu idioma"),
                       ("fr", "Facture pro forma", "fr", "Ainda não traduzido para o seu idioma")]
    assert "Rechnungsnotizen" not in page.text  # internal articles stay hidden from the public
    assert page.select_one("section.no-results") is None


def test_a_result_in_another_language_links_the_readers_version_when_there_is_one(
        make_client: MakeClient, tree: ContentTree) -> None:
    client = make_client(languages_tree(tree).root)
    page = soup(client.get("/fr/search", params={"q": "download"}))
    result = page.select_one("section.elsewhere li.result")
    assert result.select_one("h4 a").get_text(strip=True) == "Invoice copies"
    link = result.select_one(".translation-note a")
    assert link["href"] == "/fr/articles/copies-de-factures" and link["hreflang"] == "fr"
    assert link.get_text(strip=True) == "Le lire dans votre langue"


def test_a_search_with_results_in_the_readers_language_shows_no_other_language(
        make_client: MakeClient, tree: ContentTree) -> None:
    client = make_client(languages_tree(tree).root)
    page = soup(client.get("/fr/search", params={"q": "duplicata"}))
    assert page.select_one("section.elsewhere") is None
    assert {a.get_text(strip=True) for a in page.select("ol.results h3 a")} == {"Copies de factures",
                                                                                  "Facture pro forma"}
    nothing = soup(client.get("/pt/search", params={"q": "xylophone"}))
    assert nothing.select_one("section.elsewhere") is None and nothing.select_one("section.no-results")


def test_the_api_gives_other_languages_results_with_their_translation(make_client: MakeClient,
                                                                      tree: ContentTree) -> None:
    client = make_client(languages_tree(tree).root)
    body = client.get("/api/v1/search", params={"q": "duplicata", "lang": "pt"}).json()
    assert body["total"] == 0 and body["results"] == []
    assert [(group["lang"], group["total"]) for group in body["other_languages"]] == [("en", 1), ("fr", 2)]
    first = body["other_languages"][0]["results"][0]
    assert (first["lang"], first["url"], first["translation"]) == ("en", "/en/articles/invoice-copies", None)
    body = client.get("/api/v1/search", params={"q": "download", "lang": "fr"}).json()
    assert body["other_languages"][0]["results"][0]["translation"] == "/fr/articles/copies-de-factures"
    assert client.get("/api/v1/search", params={"q": "duplicata", "lang": "pt", "offset": 10}
                      ).json()["other_languages"] == []  # the first page only


def test_a_search_answered_only_in_other_languages_is_logged_as_a_gap_and_its_click_counts(
        make_client: MakeClient, tree: ContentTree) -> None:
    client = make_client(languages_tree(tree).root)
    client.get("/pt/")  # a visitor cookie
    page = soup(client.get("/pt/search", params={"q": "duplicata"}))
    link = page.select("section.elsewhere li.result h4 a")[1]["href"]
    assert link.startswith("/pt/search/click?") and "in=fr" in link
    clicked = client.get(link)
    assert clicked.status_code == 302
    assert clicked.headers["location"] == "/fr/articles/copies-de-factures?from=search"
    db = services_of(client).db
    client.portal.call(db.flush)
    searches = client.portal.call(searchlog.recent_searches, db)
    # No result in Portuguese: it counts in the zero-result report although en/fr answered.
    assert [(s.query, s.lang, s.results) for s in searches] == [("duplicata", "pt", 0)]
    clicks = client.portal.call(searchlog.recent_clicks, db)
    assert [(c.lang, c.article_id, c.rank) for c in clicks] == [("pt", 1, 2)]


# --- the web editor -------------------------------------------------------------------------------


def test_questions_added_to_a_file_without_them_are_appended_one_per_line_and_nothing_else_changes() -> None:
    original = "---\nid: 1\ntitle: 'Refunds'  # legal wording\ntags: [refund]\nstatus: published\n---\nBody\n"
    form = ArticleForm.from_text(original, lang="en", slug="refunds")
    assert form.questions == ""
    form.questions = "Can I get my money back?\r\n\r\n  Is it pro rata?  "
    form = ArticleForm.from_mapping(dataclasses.asdict(form))
    changed = form.text(1, "published", original)
    assert changed == original.replace(
        "status: published\n", "status: published\nquestions:\n- Can I get my money back?\n- Is it pro rata?\n")
    form.questions = ""
    assert form.text(1, "published", changed) == original  # removed, the lines go


def test_editing_questions_in_the_web_editor_changes_only_their_lines_and_search_follows(
        make_client: MakeClient, sample_tree: Path) -> None:
    client = signed_in(make_client(sample_tree), "ed", "editor")
    path = sample_tree / "en" / "premium-support" / "upgrade-premium-support.md"
    before = path.read_text(encoding="utf-8")
    url = "/admin/articles/en/upgrade-premium-support"
    form = open_form(client, url)
    assert form["questions"].split("\n")[0] == "How do I switch to a better Premium Support plan?"
    response = client.post(url, data={**form, "action": "publish"})
    assert response.status_code == 303, response.text
    assert path.read_text(encoding="utf-8") == before  # saved unchanged: byte-identical
    form["questions"] += "\nCan I get the gold tier?"
    response = client.post(url, data={**open_form(client, url), "questions": form["questions"], "action": "publish"})
    assert response.status_code == 303, response.text
    after = path.read_text(encoding="utf-8")
    head, rest = before.split("questions:\n", 1)
    assert after.startswith(head + "questions:\n") and after.endswith(rest[rest.index("---\n"):])
    assert yaml.safe_load(after.split("---\n")[1])["questions"][-1] == "Can I get the gold tier?"
    client.app.state.kb.search.request_sync()  # type: ignore[attr-defined]
    client.portal.call(client.app.state.kb.search.wait_idle)  # type: ignore[attr-defined]
    found = client.get("/api/v1/search", params={"q": "gold tier"}).json()["results"]
    assert [r["slug"] for r in found] == ["upgrade-premium-support"]


def test_a_bad_question_is_refused_with_its_problem(make_client: MakeClient, sample_tree: Path) -> None:
    client = signed_in(make_client(sample_tree), "ed", "editor")
    url = "/admin/articles/en/upgrade-premium-support"
    response = client.post(url, data={**open_form(client, url), "questions": "x" * (MAX_QUESTION_CHARS + 1),
                                      "action": "publish"})
    assert response.status_code == 422
    assert f"question 1 is {MAX_QUESTION_CHARS + 1} characters long" in response.text
