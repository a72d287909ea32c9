"""Synonyms through the real app and index: a customer's word finds the article, the exact word
still ranks first, and an edit (in /admin/synonyms or on disk) changes results at once, without
re-indexing. The admin page: roles, CSRF, validation with line numbers, conflicts, preview."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.testclient import TestClient

from tests.admin_support import form_fields, signed_in, soup
from tests.conftest import ContentTree, MakeClient, services_of
from tests.search_support import slugs

SYNONYMS = "en:\n  equivalent:\n    - [refund, money back]\n"


def wait_for_search(client: TestClient) -> None:
    deadline = time.monotonic() + 30
    while client.get("/healthz").json()["search"] != "ok":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client.portal.call(services_of(client).search.wait_idle)  # type: ignore[union-attr]


def refund_tree(tree: ContentTree) -> ContentTree:
    tree.add("en", "refund-policy", id=1, title="Refund policy", body="A refund is paid within ten days.")
    tree.add("en", "money-back-guarantee", id=2, title="Money back guarantee",
             body="Our money back guarantee lasts thirty days.")
    tree.add("en", "invoices", id=3, title="Invoices", category="billing", body="Download your invoices.")
    return tree


def test_a_query_with_only_a_synonym_finds_the_article_and_the_typed_word_ranks_first(
        tree: ContentTree, make_client: MakeClient) -> None:
    refund_tree(tree)
    (tree.root / "synonyms.yaml").write_text(SYNONYMS, encoding="utf-8")
    client = make_client(tree.root)
    wait_for_search(client)
    assert slugs(client, "reimbursed") == []
    assert slugs(client, "refunds") == ["refund-policy", "money-back-guarantee"]
    assert slugs(client, "money back") == ["money-back-guarantee", "refund-policy"]
    assert slugs(client, "refund", lang="en")[0] == "refund-policy"


def test_an_edit_on_disk_changes_results_without_reindexing(tree: ContentTree, make_client: MakeClient) -> None:
    refund_tree(tree)
    client = make_client(tree.root, watch_seconds=0.05)
    wait_for_search(client)
    token = services_of(client).search.index.token("en")
    assert slugs(client, "reimbursement") == []
    (tree.root / "synonyms.yaml").write_text(
        "en:\n  equivalent:\n    - [reimbursement, refund]\n", encoding="utf-8")
    deadline = time.monotonic() + 10
    while slugs(client, "reimbursement") != ["refund-policy"]:
        assert time.monotonic() < deadline, "the watcher did not reload synonyms.yaml"
        time.sleep(0.05)
    assert services_of(client).search.index.token("en") == token  # the same index generation


def test_synonyms_apply_to_the_readers_language_only(tree: ContentTree, make_client: MakeClient) -> None:
    tree.add("en", "refund-policy", id=1, title="Refund policy", body="A refund is paid.")
    tree.add("fr", "remboursement", id=1, title="Remboursement", body="Le remboursement est versé.")
    (tree.root / "synonyms.yaml").write_text(
        "fr:\n  one_way:\n    avoir: [remboursement]\n", encoding="utf-8")
    client = make_client(tree.root)
    wait_for_search(client)
    assert slugs(client, "avoir", lang="fr") == ["remboursement"]
    assert slugs(client, "avoir", lang="en") == []


def test_the_sample_synonyms_find_what_customers_ask_for(sample_client: TestClient) -> None:
    assert slugs(sample_client, "urgent")[:1] in (["premium-support-limits"], ["premium-support-commitment"])
    assert "premium-support-commitment" in slugs(sample_client, "reimbursement")
    assert slugs(sample_client, "vip number")[0] == "support-code-and-vip-code"


# --- /admin/synonyms -------------------------------------------------------------------------


def test_the_page_is_for_editors_and_admins_and_is_linked_from_the_menu(client: TestClient) -> None:
    assert client.get("/admin/synonyms").status_code in (302, 303)  # to the sign-in page
    signed_in(client, "ana", "analyst")
    assert client.get("/admin/synonyms").status_code == 403
    signed_in(client, "eve", "editor")
    page = client.get("/admin/synonyms?lang=fr")
    assert page.status_code == 200
    html = soup(page)
    assert html.select_one('nav.admin-nav a[href="/admin/synonyms"]') is not None
    assert "[remboursement, récupérer mon argent, argent rendu]" in html.select_one("#synonyms-text").get_text()
    assert client.get("/admin/synonyms?lang=xx").status_code == 400
    signed_in(client, "ada", "admin")
    assert client.get("/admin/synonyms").status_code == 200


def test_a_save_without_a_valid_csrf_token_is_refused(client: TestClient) -> None:
    signed_in(client, "eve", "editor")
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    fields.update(csrf_token="forged", action="save", text="equivalent:\n  - [a, b]\n")
    refused = client.post("/admin/synonyms", data=fields)
    assert refused.status_code == 403
    assert "The form has expired or did not come from this site" in refused.text
    assert "[a, b]" not in client.get("/admin/synonyms?lang=en").text  # nothing was saved


def test_a_saved_draft_applies_to_the_next_search_and_keeps_the_other_languages(client: TestClient) -> None:
    signed_in(client, "eve", "editor")
    path = services_of(client).site.content_dir / "synonyms.yaml"
    before = path.read_text(encoding="utf-8")
    assert slugs(client, "gizmo") == []
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    fields.update(action="save", text=fields["text"] + "  gizmo: [vip code]\n")  # under one_way
    response = client.post("/admin/synonyms", data=fields)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin/synonyms?lang=en&done=synonyms"
    assert "Synonyms saved" in client.get(response.headers["location"]).text
    after = path.read_text(encoding="utf-8")
    assert after.split("\npt:")[1] == before.split("\npt:")[1]  # other languages byte-identical
    assert slugs(client, "gizmo")[0] == "support-code-and-vip-code"


def test_problems_are_shown_with_the_line_of_the_form_and_nothing_is_saved(client: TestClient) -> None:
    signed_in(client, "eve", "editor")
    path = services_of(client).site.content_dir / "synonyms.yaml"
    before = path.read_bytes()
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    fields.update(action="save", text="equivalent:\n  - [refund, money back]\n  - [money back, payback]\n")
    response = client.post("/admin/synonyms", data=fields)
    assert response.status_code == 422
    problems = [li.get_text(" ", strip=True) for li in soup(response).select(".problems li")]
    assert problems == ["Line 3: 'money back' is already in the group on line 2"]
    assert path.read_bytes() == before
    assert "payback" in soup(response).select_one("#synonyms-text").get_text()  # the text is kept


def test_a_file_changed_meanwhile_is_a_conflict_and_the_text_is_kept(client: TestClient) -> None:
    signed_in(client, "eve", "editor")
    path = services_of(client).site.content_dir / "synonyms.yaml"
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    path.write_text(path.read_text(encoding="utf-8").replace("hotline", "helpline"), encoding="utf-8")
    changed = path.read_bytes()
    mine = fields["text"] + "  widget: [vip code]\n"
    response = client.post("/admin/synonyms", data={**fields, "action": "save", "text": mine})
    assert response.status_code == 409
    page = soup(response)
    assert "changed since you opened them" in page.select_one(".conflict").get_text()
    assert "helpline" in page.select_one(".diff").get_text()
    assert path.read_bytes() == changed
    again = form_fields(response.text, "synonyms-form")
    assert again["text"] == mine
    assert client.post("/admin/synonyms", data={**again, "action": "save"}).status_code == 303


def test_the_preview_shows_what_a_query_finds_before_and_after_the_draft(client: TestClient) -> None:
    signed_in(client, "eve", "editor")
    path = services_of(client).site.content_dir / "synonyms.yaml"
    before = path.read_bytes()
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    fields.update(action="preview", q="gizmo", text=fields["text"] + "  gizmo: [vip code]\n")
    response = client.post("/admin/synonyms", data=fields)
    assert response.status_code == 200
    page = soup(response)
    before_list = page.select_one('[aria-labelledby="before-title"]')
    after_list = page.select_one('[aria-labelledby="after-title"]')
    assert before_list.select(".results li") == []
    assert "Support code and VIP code" in after_list.select(".results li")[0].get_text()
    assert path.read_bytes() == before  # a preview writes nothing
    assert slugs(client, "gizmo") == []


def test_the_form_works_without_javascript(client: TestClient) -> None:
    signed_in(client, "eve", "editor")
    form = soup(client.get("/admin/synonyms?lang=pt")).select_one("#synonyms-form")
    assert form["method"] == "post" and form["action"] == "/admin/synonyms"
    assert {b["value"] for b in form.select("button[name=action]")} == {"preview", "save"}
    assert form.select_one("input[name=csrf_token]")["value"]
    assert form.select_one("label[for=synonyms-text]") is not None


def test_a_language_without_synonyms_starts_empty_and_is_added_at_the_end(
        tree: ContentTree, make_client: MakeClient) -> None:
    refund_tree(tree)
    client = make_client(tree.root)
    signed_in(client, "eve", "editor")
    fields = form_fields(client.get("/admin/synonyms?lang=en").text, "synonyms-form")
    assert fields["text"] == "" and fields["revision"] == ""
    fields.update(action="save", text="equivalent:\n  - [refund, reimbursement]\n")
    assert client.post("/admin/synonyms", data=fields).status_code == 303
    assert Path(tree.root / "synonyms.yaml").read_text() == "en:\n  equivalent:\n    - [refund, reimbursement]\n"
    wait_for_search(client)
    assert slugs(client, "reimbursement")[0] == "refund-policy"
