"""The web editor: create, preview, draft / review / publish, conflicts, history, translations,
odd input, hostile Markdown, and live publishing (page and search updated after a save)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.admin_support import csrf, form_fields, open_form, signed_in, soup
from tests.conftest import DIALECTS, ContentTree, MakeClient, database_for

# The SQL these tests exercise runs on SQLite and on PostgreSQL.
database_url = pytest.fixture(params=DIALECTS)(database_for)

NEW = {"lang": "en", "slug": "", "title": "How do refunds work?", "summary": "When and how we refund.",
       "category": "billing", "tags": "refund, money", "type": "faq", "updated": "2026-02-01", "video": "",
       "body": "## Answer\n\nRefunds take five days.\n", "message": "first version"}


@pytest.fixture
def editor(make_client: MakeClient, tree: ContentTree) -> TestClient:
    tree.add("en", "refund-policy", id=1, title="Refund policy", body="## Policy\n\nWe refund within 30 days.\n",
             updated="2026-01-15")
    tree.add("en", "account-basics", id=2, title="Account basics", category="accounts", status="draft")
    return signed_in(make_client(tree.root), "ed", "editor")


def new_article(client: TestClient, action: str, **fields: str) -> Any:
    form = open_form(client, "/admin/articles/new")
    form.update(NEW)
    form.update(fields)
    return client.post("/admin/articles/new", data={**form, "action": action})


def save(client: TestClient, url: str, action: str, form: dict[str, str] | None = None, **changes: str) -> Any:
    form = dict(form or open_form(client, url))
    form.update(changes)
    return client.post(url, data={**form, "action": action})


def file_of(tree: ContentTree, *parts: str) -> str:
    return (tree.root.joinpath(*parts)).read_text(encoding="utf-8")


# --- create, draft, review, publish --------------------------------------------------------------


def test_a_new_draft_is_written_as_a_valid_file_that_readers_do_not_see(editor: TestClient, tree: ContentTree) -> None:
    response = new_article(editor, "draft")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/articles/en/how-do-refunds-work?done=draft"
    text = file_of(tree, "en", "billing", "how-do-refunds-work.md")
    assert text.startswith("---\nid: 3\ntitle: How do refunds work?\n")
    assert "status: draft" in text and "tags:\n- refund\n- money" in text.replace("tags: [refund, money]", "tags:\n- refund\n- money")
    assert text.endswith("Refunds take five days.\n")
    assert editor.get("/en/articles/how-do-refunds-work").status_code == 404
    site = editor.app.state.kb.site
    assert site.check() == []  # what the editor writes passes `kb check`
    page = editor.get(response.headers["location"])
    assert soup(page).select_one(".notice").get_text() == "Draft saved."
    assert soup(page).select_one(".status").get_text() == "Draft"


def test_publishing_puts_the_article_live_at_once(editor: TestClient, tree: ContentTree) -> None:
    response = new_article(editor, "publish")
    assert response.status_code == 303
    page = editor.get("/en/articles/how-do-refunds-work")
    assert page.status_code == 200
    assert soup(page).h1.get_text() == "How do refunds work?"
    assert "Refunds take five days." in page.text
    assert "How do refunds work?" in editor.get("/en/billing/").text


def test_a_published_article_keeps_its_live_version_while_a_draft_is_pending(editor: TestClient, tree: ContentTree) -> None:
    url = "/admin/articles/en/refund-policy"
    before = file_of(tree, "en", "billing", "refund-policy.md")
    body = "## Policy\n\nWe refund within 60 days.\n"
    assert save(editor, url, "draft", body=body).status_code == 303
    assert file_of(tree, "en", "billing", "refund-policy.md") == before
    assert "within 30 days" in editor.get("/en/articles/refund-policy").text
    page = editor.get(url)
    assert "within 60 days" in form_fields(page.text)["body"]  # the editor shows the pending draft
    assert soup(page).select_one(".status").get_text() == "Published, with a pending draft"
    listed = soup(editor.get("/admin/articles?status=pending"))
    assert [a.get_text() for a in listed.select("tbody td:first-child a")] == ["Refund policy"]
    # submitting for review keeps it off the site too
    assert save(editor, url, "review").status_code == 303
    assert "within 30 days" in editor.get("/en/articles/refund-policy").text
    assert [a.get_text() for a in soup(editor.get("/admin/articles?status=review")).select(
        "tbody td:first-child a")] == ["Refund policy"]
    # publishing makes the draft the live version and clears it
    assert save(editor, url, "publish").status_code == 303
    assert "within 60 days" in editor.get("/en/articles/refund-policy").text
    assert "within 60 days" in file_of(tree, "en", "billing", "refund-policy.md")
    assert soup(editor.get(url)).select_one(".status").get_text() == "Published"


def test_a_pending_draft_can_be_discarded(editor: TestClient, tree: ContentTree) -> None:
    url = "/admin/articles/en/refund-policy"
    save(editor, url, "draft", body="Something else.\n")
    page = editor.get(url)
    response = editor.post(url + "/discard", data={"csrf_token": csrf(page.text)})
    assert response.status_code == 303
    assert "within 30 days" in form_fields(editor.get(url).text)["body"]


def test_a_draft_submitted_for_review_is_listed_as_in_review(editor: TestClient) -> None:
    assert new_article(editor, "review").status_code == 303
    rows = soup(editor.get("/admin/articles?status=review")).select("tbody tr")
    assert [r["data-slug"] for r in rows] == ["how-do-refunds-work"]
    assert editor.get("/en/articles/how-do-refunds-work").status_code == 404


def test_unpublish_then_delete_then_restore(editor: TestClient, tree: ContentTree) -> None:
    url = "/admin/articles/en/refund-policy"
    page = editor.get(url)
    base = soup(page).select_one("form[action$='/unpublish'] input[name=base_revision]")["value"]
    assert editor.post(url + "/unpublish", data={"csrf_token": csrf(page.text), "base_revision": base}).status_code == 303
    assert editor.get("/en/articles/refund-policy").status_code == 404
    text = file_of(tree, "en", "billing", "refund-policy.md")
    assert "status: draft" in text and "title: Refund policy" in text  # only the status line changed
    page = editor.get(url)
    base = soup(page).select_one("form[action$='/delete'] input[name=base_revision]")["value"]
    response = editor.post(url + "/delete", data={"csrf_token": csrf(page.text), "base_revision": base})
    assert response.status_code == 303 and response.headers["location"] == "/admin/articles?done=delete"
    assert not (tree.root / "en" / "billing" / "refund-policy.md").exists()
    assert editor.get(url).status_code == 404
    listing = editor.get("/admin/articles")
    restore = soup(listing).select_one("section.deleted form")
    assert restore is not None and "refund-policy" in soup(listing).select_one("section.deleted li").get_text()
    fields = {i["name"]: i.get("value", "") for i in restore.select("input")}
    response = editor.post(restore["action"], data=fields)
    assert response.status_code == 303
    assert file_of(tree, "en", "billing", "refund-policy.md") == text
    assert editor.get(url).status_code == 200
    assert soup(editor.get("/admin/articles")).select_one("section.deleted") is None


# --- checks and preview --------------------------------------------------------------------------


def test_preview_renders_with_the_sites_renderer_and_shows_kb_check_problems(editor: TestClient) -> None:
    form = open_form(editor, "/admin/articles/new")
    form.update(NEW, body="## Steps\n\n!!! tip \"Good to know\"\n    Keep receipts.\n\n[gone](missing.md)\n",
                summary="")
    fragment = editor.post("/admin/preview", data=form, headers={"X-KB-Fragment": "1"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    html = soup(fragment)
    assert html.select_one("h2#steps") is not None
    assert html.select_one(".admonition") is not None  # the site's callout plugin ran
    problems = [li.get_text() for li in html.select(".problems li")]
    assert any("missing required field 'summary'" in p for p in problems)
    assert any("missing.md" in p for p in problems)
    # the same without JavaScript: the Preview button re-shows the form with the preview
    page = editor.post("/admin/articles/new", data={**form, "action": "preview"})
    assert page.status_code == 200
    assert soup(page).select_one("#preview-body h2#steps") is not None
    assert form_fields(page.text)["body"].startswith("## Steps")
    assert not any(Path(editor.app.state.kb.site.content_dir).rglob("how-do-refunds-work.md"))


def test_publishing_needs_an_article_without_problems_but_a_draft_may_wait(editor: TestClient, tree: ContentTree) -> None:
    refused = new_article(editor, "publish", body="See [this](nowhere.md).\n")
    assert refused.status_code == 422
    assert soup(refused).select_one(".form-error").get_text().startswith("Not saved")
    assert any("nowhere.md" in li.get_text() for li in soup(refused).select(".problems li"))
    assert form_fields(refused.text)["body"] == "See [this](nowhere.md).\n"  # nothing typed is lost
    assert not (tree.root / "en" / "billing" / "how-do-refunds-work.md").exists()
    assert new_article(editor, "draft", body="See [this](nowhere.md).\n").status_code == 303
    invalid = new_article(editor, "draft", slug="other", title="", updated="31/12/2026")
    assert invalid.status_code == 422
    problems = " ".join(li.get_text() for li in soup(invalid).select(".problems li"))
    assert "missing required field 'title'" in problems and "updated must be a date" in problems


# --- conflicts ------------------------------------------------------------------------------------


def test_a_save_is_refused_with_a_diff_when_the_file_changed_on_disk(editor: TestClient, tree: ContentTree) -> None:
    tree.add("en", "draft-note", id=5, title="Draft note", status="draft", body="Original line.\n")
    editor.app.state.kb.site.load()
    url = "/admin/articles/en/draft-note"
    opened = open_form(editor, url)
    path = tree.root / "en" / "billing" / "draft-note.md"
    path.write_text(path.read_text().replace("Original line.", "Changed by git pull."), encoding="utf-8")
    response = save(editor, url, "draft", opened, body="My edit.\n")
    assert response.status_code == 409
    conflict = soup(response).select_one("section.conflict")
    assert "changed on disk" in conflict.get_text()
    assert "-Changed by git pull." in [d.get_text() for d in conflict.select("del")]
    assert "+My edit." in [i.get_text() for i in conflict.select("ins")]
    assert "Changed by git pull." in path.read_text()  # never a silent overwrite
    # the returned form keeps the user's text and now knows the disk version: saving is deliberate
    again = form_fields(response.text)
    assert again["body"] == "My edit.\n"
    assert save(editor, url, "draft", again).status_code == 303
    assert "My edit." in path.read_text()


def test_a_pending_draft_is_refused_when_the_live_file_changed(editor: TestClient, tree: ContentTree) -> None:
    url = "/admin/articles/en/refund-policy"
    opened = open_form(editor, url)
    path = tree.root / "en" / "billing" / "refund-policy.md"
    path.write_text(path.read_text().replace("30 days", "45 days"), encoding="utf-8")
    response = save(editor, url, "draft", opened, body="## Policy\n\nWe refund within 90 days.\n")
    assert response.status_code == 409
    assert "45 days" in response.text


def test_two_editors_cannot_overwrite_each_others_pending_draft(editor: TestClient) -> None:
    url = "/admin/articles/en/refund-policy"
    first = open_form(editor, url)
    second = open_form(editor, url)
    assert save(editor, url, "draft", first, body="First editor's text.\n").status_code == 303
    response = save(editor, url, "draft", second, body="Second editor's text.\n")
    assert response.status_code == 409
    assert "another draft" in response.text
    assert "First editor" in response.text  # the diff shows what would be lost
    assert "First editor's text." in form_fields(editor.get(url).text)["body"]


def test_delete_and_unpublish_refuse_a_stale_page(editor: TestClient, tree: ContentTree) -> None:
    url = "/admin/articles/en/refund-policy"
    page = editor.get(url)
    base = soup(page).select_one("form[action$='/delete'] input[name=base_revision]")["value"]
    path = tree.root / "en" / "billing" / "refund-policy.md"
    path.write_text(path.read_text() + "\nAdded outside.\n", encoding="utf-8")
    for action in ("delete", "unpublish"):
        response = editor.post(f"{url}/{action}", data={"csrf_token": csrf(page.text), "base_revision": base})
        assert response.status_code == 409
        assert "Added outside." in response.text
    assert path.exists() and "status: published" in path.read_text()


@pytest.mark.parametrize(("slug", "folder", "action"), [
    ("refund-policy", "billing", "delete"), ("refund-policy", "billing", "unpublish"),
    ("refund-policy", "billing", "publish"), ("refund-policy", "billing", "draft"),  # the live file / a pending draft
    ("account-basics", "accounts", "draft"),  # a draft article's own file
])
def test_a_stale_page_shows_the_outside_change_even_once_the_site_has_reloaded_it(
        editor: TestClient, tree: ContentTree, slug: str, folder: str, action: str) -> None:
    """The conflict diff is from the version the page was opened from to the file on disk now,
    whether or not the content watcher reloaded the site between the outside edit and the POST."""
    url = f"/admin/articles/en/{slug}"
    page = editor.get(url)
    path = tree.root / "en" / folder / f"{slug}.md"
    outside = path.read_text().replace("---\n", "---\n# Checked by legal.\n", 1) + "\nAdded outside.\n"
    path.write_text(outside, encoding="utf-8")
    editor.app.state.kb.site.load()  # what the watcher does, at the worst moment
    if action in ("delete", "unpublish"):
        base = soup(page).select_one(f"form[action$='/{action}'] input[name=base_revision]")["value"]
        response = editor.post(f"{url}/{action}", data={"csrf_token": csrf(page.text), "base_revision": base})
    else:
        response = save(editor, url, action, form_fields(page.text))
    assert response.status_code == 409
    removed = [d.get_text() for d in soup(response).select("del")]
    assert "-# Checked by legal." in removed and "-Added outside." in removed
    assert path.read_text() == outside  # nothing written


def test_a_node_that_never_loaded_the_pages_version_finds_it_in_history(
        editor: TestClient, make_client: MakeClient, tree: ContentTree, tmp_path: Path) -> None:
    url = "/admin/articles/en/refund-policy"
    assert save(editor, url, "publish", body="## Policy\n\nVersion two.\n").status_code == 303
    page = editor.get(url)  # opened from version two, which the editor wrote (so it is in history)
    path = tree.root / "en" / "billing" / "refund-policy.md"
    path.write_text(path.read_text() + "\nAdded outside.\n", encoding="utf-8")
    other = make_client(tree.root, index_dir=tmp_path / "other-index")  # another node: same database
    other.cookies = editor.cookies  # and the same signed-in editor, sent there
    base = soup(page).select_one("form[action$='/delete'] input[name=base_revision]")["value"]
    response = other.post(f"{url}/delete", data={"csrf_token": csrf(page.text), "base_revision": base})
    assert response.status_code == 409
    assert "-Added outside." in [d.get_text() for d in soup(response).select("del")]
    assert path.exists()


# --- history ---------------------------------------------------------------------------------------


def test_history_records_every_version_shows_diffs_and_restores(editor: TestClient, tree: ContentTree) -> None:
    url = "/admin/articles/en/refund-policy"
    path = tree.root / "en" / "billing" / "refund-policy.md"
    original = path.read_text()
    assert save(editor, url, "publish", body="## Policy\n\nVersion two.\n", message="second").status_code == 303
    path.write_text(path.read_text().replace("Version two.", "Version three, by git."), encoding="utf-8")
    editor.app.state.kb.site.load()
    assert save(editor, url, "publish", body="## Policy\n\nVersion four.\n", message="fourth").status_code == 303
    page = soup(editor.get("/admin/history/en/1"))
    rows = [[td.get_text(strip=True) for td in tr.select("td")[2:7]] for tr in page.select("tbody tr")]
    assert [r[2:] for r in rows] == [
        ["ed", "Published", "fourth"], ["(outside the editor)", "Changed outside the editor", ""],
        ["ed", "Published", "second"], ["(outside the editor)", "Changed outside the editor", ""],
    ]
    first_id, last_id = rows[-1][0], rows[0][0]
    diff = soup(editor.get(f"/admin/history/en/1/diff?a={first_id}&b={last_id}"))
    assert "-We refund within 30 days." in [d.get_text() for d in diff.select("del")]
    assert "+Version four." in [i.get_text() for i in diff.select("ins")]
    assert editor.get("/admin/history/en/1/diff?a=abc&b=1").status_code == 400
    assert editor.get("/admin/history/en/1/diff?a=999&b=1").status_code == 404
    # restore the very first version
    form = page.select("tbody tr")[-1].select_one("form")
    response = editor.post(form["action"], data={i["name"]: i.get("value", "") for i in form.select("input")})
    assert response.status_code == 303
    assert path.read_text() == original
    assert "within 30 days" in editor.get("/en/articles/refund-policy").text
    assert soup(editor.get("/admin/history/en/1")).select("tbody tr")[0].select("td")[5].get_text() == "Restored"


def test_history_lists_who_changed_what_in_the_article_list(editor: TestClient) -> None:
    save(editor, "/admin/articles/en/refund-policy", "draft", body="Typo fixed.\n")
    row = soup(editor.get("/admin/articles")).select_one("tr[data-slug=refund-policy]")
    assert "Draft saved: ed" in row.get_text()


# --- translations ----------------------------------------------------------------------------------


def test_add_translation_links_the_languages(editor: TestClient, tree: ContentTree) -> None:
    tree.add("fr", "compte", id=2, title="Compte", category="accounts", status="draft")
    editor.app.state.kb.site.load()
    row = soup(editor.get("/admin/articles")).select_one("tr[data-slug=refund-policy]")
    missing = [a.get_text(strip=True) for a in row.select("a.missing")]
    assert missing == ["+ fr"]
    form_page = editor.get(row.select_one("a.missing")["href"])
    assert form_page.status_code == 200
    form = form_fields(form_page.text)
    assert form["translation_of"] == "1" and form["lang"] == "fr" and form["category"] == "billing"
    assert "within 30 days" in form["body"]  # the source text, to translate
    form.update(title="Politique de remboursement", slug="politique-de-remboursement", updated="2026-01-01",
                body="## Politique\n\nNous remboursons sous 30 jours.\n")
    response = editor.post("/admin/articles/new", data={**form, "action": "publish"})
    assert response.status_code == 303, response.text
    text = file_of(tree, "fr", "billing", "politique-de-remboursement.md")
    assert text.startswith("---\nid: 1\n")
    english = soup(editor.get("/en/articles/refund-policy"))
    links = [a["href"] for a in english.select("a[hreflang=fr]")]
    assert "/fr/articles/politique-de-remboursement" in links
    # older than its English source (2026-01-01 < 2026-01-15): flagged in the list
    row = soup(editor.get("/admin/articles?lang=fr")).select_one("tr[data-slug=politique-de-remboursement]")
    assert "Older than its source" in row.get_text()
    # a second translation into the same language is refused; the link now opens the existing one
    again = editor.get("/admin/articles/en/refund-policy/translate?to=fr")
    assert again.headers["location"] == "/admin/articles/fr/politique-de-remboursement"
    form.update(slug="encore")
    duplicate = editor.post("/admin/articles/new", data={**form, "action": "draft"})
    assert duplicate.status_code == 422
    assert "already used in 'fr'" in soup(duplicate).select_one(".problems").get_text()


# --- odd input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", [None])  # the route checks this input, not the SQL: one dialect
@pytest.mark.parametrize("url", [
    "/admin/articles/en/..%2F..%2Fsecret", "/admin/articles/en/REFUND-POLICY", "/admin/articles/xx1/refund-policy",
    "/admin/articles/../refund-policy", "/admin/articles/en/refund policy", "/admin/articles/en/%00",
    "/admin/history/zz/1", "/admin/history/en/99", "/admin/history/..%2F/1",
    "/admin/history/en/99999999999999999999999", "/admin/articles/en/caf%C3%A9",
])
def test_odd_article_urls_are_not_found(editor: TestClient, url: str) -> None:
    assert editor.get(url).status_code in (404, 405), url


@pytest.mark.parametrize("database_url", [None])  # the route checks this input, not the SQL: one dialect
@pytest.mark.parametrize("fields", [
    {"slug": "../../escape"}, {"slug": "a/b"}, {"slug": "Évasion"}, {"slug": ".hidden"}, {"slug": "x" * 200},
    {"lang": "../.."}, {"lang": "EN"}, {"lang": "eng"}, {"category": "../../tmp"}, {"category": "nope"},
    {"slug": "refund-policy"},
])
def test_odd_slugs_languages_and_categories_write_nothing(editor: TestClient, tree: ContentTree, tmp_path: Path,
                                                          fields: dict[str, str]) -> None:
    before = sorted(p for p in tmp_path.rglob("*") if "data" not in p.parts and "index" not in p.parts)
    response = new_article(editor, "draft", **fields)
    assert response.status_code == 422, response.text
    assert soup(response).select(".problems li")
    after = sorted(p for p in tmp_path.rglob("*") if "data" not in p.parts and "index" not in p.parts)
    assert after == before


def test_bad_requests_get_clear_4xx(editor: TestClient) -> None:
    def refused(response: Any, status: int, message: str) -> None:
        assert response.status_code == status, response.text
        assert soup(response).select_one(".error-message").get_text() == message

    form = open_form(editor, "/admin/articles/en/refund-policy")
    refused(editor.post("/admin/articles/en/refund-policy", data={**form, "action": "explode"}),
            400, "unknown action")
    refused(editor.post("/admin/articles/new", data={**form, "action": "explode"}),
            400, "action must be one of draft, review, publish")
    refused(editor.post("/admin/articles/en/refund-policy", data={**form, "title": "x" * 5000, "action": "draft"}),
            400, "title is too long (at most 2000 characters)")
    refused(editor.post("/admin/articles/en/refund-policy/explode", data=form), 404, "not found")
    refused(editor.get("/admin/articles?status=bogus"), 400, "status must be one of draft, review, pending, published")
    refused(editor.get("/admin/articles?category=nope"), 400, "unknown category 'nope'")
    refused(editor.get("/admin/articles/en/refund-policy/translate?to=../x"),
            400, "to must be another two-letter language code")
    refused(editor.post("/admin/history/en/1/restore", data={"csrf_token": form["csrf_token"], "revision": "x"}),
            400, "revision must be a revision number")
    refused(editor.post("/admin/history/en/1/restore", data={"csrf_token": form["csrf_token"], "revision": "12345"}),
            404, "revision not found")
    new = open_form(editor, "/admin/articles/new")
    refused(editor.post("/admin/articles/new", data={**new, **NEW, "translation_of": "abc", "action": "draft"}),
            400, "translation_of must be an article id")


# --- hostile Markdown ----------------------------------------------------------------------------

HOSTILE = ('<script>alert("body")</script>\n\n<img src=x onerror="alert(1)">\n\n'
           '[click](javascript:alert(2)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n'
           '<iframe src="https://evil.example"></iframe>\n\n```html\n<script>alert(3)</script>\n```\n')


def _assert_inert(html: str) -> None:
    page = soup(type("R", (), {"text": html})())
    body = page.select_one(".article-body")
    assert body is not None
    assert not body.select("script, iframe, img[onerror], [onclick]")
    assert not any(a.get("href", "").startswith(("javascript:", "data:")) for a in body.select("a"))
    assert "&lt;script&gt;" in html  # shown as text, not run


def test_hostile_markdown_is_inert_in_preview_and_on_the_site(editor: TestClient) -> None:
    title = '<script>alert("title")</script>'
    form = open_form(editor, "/admin/articles/new")
    form.update(NEW, title=title, slug="hostile", body=HOSTILE)
    preview = editor.post("/admin/preview", data=form, headers={"X-KB-Fragment": "1"})
    _assert_inert(preview.text)
    assert "<script>alert" not in preview.text
    page = editor.post("/admin/articles/new", data={**form, "action": "preview"})
    _assert_inert(page.text)
    assert "<script>alert" not in page.text
    assert editor.post("/admin/articles/new", data={**form, "action": "publish"}).status_code == 303
    live = editor.get("/en/articles/hostile")
    _assert_inert(live.text)
    assert "<script>alert" not in live.text
    listing = editor.get("/admin/articles")
    assert "<script>alert" not in listing.text and "&lt;script&gt;alert" in listing.text


# --- live publishing --------------------------------------------------------------------------------


def test_a_published_save_is_live_on_the_page_and_in_search(editor: TestClient) -> None:
    word = "zanzibarian"
    started = time.monotonic()
    assert save(editor, "/admin/articles/en/refund-policy", "publish",
                body=f"## Policy\n\nRefunds for {word} orders take a week.\n").status_code == 303
    page = editor.get("/en/articles/refund-policy")
    assert word in page.text
    while True:  # the index is updated in the background: give it the time the test allows
        results = editor.get(f"/en/search?q={word}")
        if "Refund policy" in results.text or time.monotonic() - started > 2:
            break
        time.sleep(0.05)
    assert results.status_code == 200
    found = soup(results).select_one("main")
    assert "Refund policy" in [a.get_text(strip=True) for a in found.select("a")]
    assert word in found.get_text()
    assert time.monotonic() - started < 2
