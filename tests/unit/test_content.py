"""Content: articles and categories are validated, every problem reported as path:line: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.cli.main import main
from kb.content.loader import load_content, next_free_id
from kb.content.site import Site
from kb.policy.holder import PolicyHolder
from tests.conftest import ContentTree, MakeClient


def problems_of(root: Path) -> list[str]:
    site = Site(root, policy=PolicyHolder.from_file(root))  # as `kb check` gives it policy.yaml's
    site.load()
    return [str(p) for p in site.check()]


def test_the_shipped_sample_content_has_no_problems(sample_tree: Path) -> None:
    assert problems_of(sample_tree) == []
    content = load_content(sample_tree)
    assert {a.lang for a in content.articles.values()} == {"en", "pt", "fr", "de", "it", "es"}
    assert {a.type for a in content.articles.values()} == {"faq", "tutorial", "video"}


def test_every_sample_article_exists_in_all_three_languages(sample_tree: Path) -> None:
    content = load_content(sample_tree)
    ids = {lang: {a.id for a in content.articles.values() if a.lang == lang} for lang in ("en", "pt", "fr")}
    assert ids["en"] == ids["pt"] == ids["fr"]
    # German, Italian and Spanish have every public article but the video (its narration is English)
    for lang in ("de", "it", "es"):
        assert {a.id for a in content.articles.values() if a.lang == lang} == {1, 2, 3, 4, 5, 8}


def test_broken_yaml_is_reported_with_its_line(tree: ContentTree) -> None:
    path = tree.root / "en" / "billing" / "broken.md"
    path.parent.mkdir(parents=True)
    path.write_text("---\nid: 1\ntitle: [unclosed\nsummary: x\n---\nbody\n", encoding="utf-8")
    found = problems_of(tree.root)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:")
    assert "invalid YAML" in found[0]
    line = int(found[0].split(":")[1])
    assert line in (3, 4)


def test_missing_title_unknown_category_and_bad_type_are_all_reported_at_once(tree: ContentTree) -> None:
    a = tree.add("en", "no-title", title=None, id=1)
    b = tree.add("en", "bad-category", category="nowhere", id=2)
    c = tree.add("en", "bad-type", type="podcast", id=3)
    found = problems_of(tree.root)
    assert f"{a}:1: missing required field 'title'" in found
    assert f"{b}:5: unknown category 'nowhere' (declare it in categories.yaml)" in found
    assert any(p.startswith(f"{c}:7: type must be one of") for p in found)


def test_duplicate_slug_in_one_language_is_an_error(tree: ContentTree) -> None:
    first = tree.add("en", "same", id=1, folder="billing")
    second = tree.add("en", "same", id=2, folder="accounts", category="accounts")
    # files are read in path order, so the billing one is the duplicate of the accounts one
    assert problems_of(tree.root) == [f"{first}:1: duplicate slug 'same': also {second}"]


def test_link_to_a_missing_article_names_the_line(tree: ContentTree) -> None:
    tree.add("en", "target", id=1)
    source = tree.add("en", "source", id=2, body="First line.\n\nSee [the other](../billing/missing.md).\n")
    found = problems_of(tree.root)
    # front matter is 10 lines (--- + 8 fields + ---); the link is on the body's third line
    assert found == [f"{source}:13: link to a missing article or file: ../billing/missing.md"]


def test_reference_links_report_a_missing_definition_and_a_definition_to_nowhere(tree: ContentTree) -> None:
    tree.add("en", "target", id=1)
    source = tree.add("en", "source", id=2, body=(
        "Read [the target][ok], [the answer][nope] and [gone][gone].\n"  # line 11
        "Arrays like rows[i][j] and `[code][x]` are not links.\n"
        "\n"
        "<!-- the links used above -->\n"
        "[ok]: target.md\n"  # line 15
        "[gone]: ../billing/missing.md\n"
        "[unused]: missing-too.md\n"))
    assert problems_of(tree.root) == [
        (f"{source}:11: reference link [the answer][nope] has no definition: "
         "add a line '[nope]: target' or fix the label"),
        f"{source}:16: link definition [gone] points to a missing article or file: ../billing/missing.md",
        f"{source}:17: link definition [unused] points to a missing article or file: missing-too.md",
    ]
    site = Site(tree.root)
    site.load()
    html = site.rendered(site.article("en", "source")).html
    assert '<a href="/en/articles/target">the target</a>' in html
    assert "[the answer][nope]" in html and ">gone<" not in html  # a link to nowhere is plain text


def test_comments_hide_their_links_from_readers_and_from_kb_check(tree: ContentTree) -> None:
    tree.add("en", "source", id=1, body="<!-- old: [see](missing.md) -->\nText <!-- [x](gone.md) --> here.\n")
    assert problems_of(tree.root) == []


def test_escaped_braces_are_no_unknown_policy_key_for_kb_check(tree: ContentTree) -> None:
    tree.add("en", "escaped", id=1, body='In awk, write "\\{{foo}}" and `{{ bar }}` as they are.\n')
    assert problems_of(tree.root) == []
    unescaped = tree.add("en", "unescaped", id=2, body='In awk, write "{{foo}}".\n')
    assert [p.split(": ", 1)[0] for p in problems_of(tree.root)] == [f"{unescaped}:11"]


def test_relative_links_between_articles_become_site_urls(tree: ContentTree) -> None:
    tree.add("en", "target", id=1, category="accounts")
    tree.add("en", "source", id=2, body="See [it](../accounts/target.md#part).\n")
    site = Site(tree.root)
    site.load()
    html = site.rendered(site.article("en", "source")).html
    assert '<a href="/en/articles/target#part">it</a>' in html


def test_video_articles_need_a_video_url(tree: ContentTree) -> None:
    path = tree.add("en", "clip", type="video")
    assert f"{path}:1: a video article needs a 'video' field with the video's URL" in problems_of(tree.root)


def test_unknown_parent_category_is_reported(tree: ContentTree) -> None:
    tree.write_categories({"a": {"title": {"en": "A"}, "parent": "ghost"}})
    assert problems_of(tree.root) == [f"{tree.root / 'categories.yaml'}:1: unknown parent category 'ghost'"]


def test_kb_check_prints_problems_and_exits_1(tree: ContentTree, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tree.add("en", "bad", category="nowhere")
    code = main(["check", "--content-dir", str(tree.root), "--data-dir", str(tmp_path / "d")])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{bad}:5: unknown category 'nowhere'" in out


def test_kb_check_exits_0_on_good_content(sample_tree: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", "--content-dir", str(sample_tree), "--data-dir", str(tmp_path / "d")]) == 0


def test_the_next_free_id_counts_every_file_a_load_reads_linked_folders_too(tree: ContentTree, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    ContentTree(shared).add("en", "router", id=41, title="Router lights")
    tree.add("en", "modem", id=2, title="Modem setup")
    (tree.root / "en" / "shared").symlink_to(shared / "en" / "billing")
    assert ("en", "router") in load_content(tree.root).articles
    assert next_free_id(tree.root) == 42


def test_kb_new_scaffolds_a_valid_draft_with_the_next_free_id(sample_tree: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    expected_id = next_free_id(sample_tree)
    code = main(["new", "How do I reset my password?", "--lang", "en", "--category", "support-codes",
                 "--content-dir", str(sample_tree), "--data-dir", str(tmp_path / "d")])
    assert code == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "how-do-i-reset-my-password.md"
    assert problems_of(sample_tree) == []
    article = load_content(sample_tree).articles[("en", "how-do-i-reset-my-password")]
    assert article.id == expected_id and article.status == "draft"


def test_kb_new_refuses_an_unknown_category_clearly(sample_tree: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["new", "X", "--lang", "en", "--category", "nope", "--content-dir", str(sample_tree),
                 "--data-dir", str(tmp_path / "d")])
    assert code == 2
    assert "unknown category 'nope'" in capsys.readouterr().err


def test_a_bad_article_does_not_stop_the_others_from_being_served(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "good", id=1)
    tree.add("en", "bad", id=2, category="nowhere")
    client = make_client(tree.root)
    good = client.get("/en/articles/good")
    assert good.status_code == 200
    assert "<title>Good · Help Center</title>" in good.text
    bad = client.get("/en/articles/bad")
    assert bad.status_code == 404
    assert "Page not found" in bad.text


def test_a_reload_parses_only_the_files_that_changed(tree: ContentTree) -> None:
    tree.add("en", "stays", id=1)
    changing = tree.add("en", "changes", id=2, body="Before.\n")
    site = Site(tree.root)
    site.load()
    kept = site.article("en", "stays")
    changing.write_text(changing.read_text(encoding="utf-8").replace("Before.", "After, longer."), encoding="utf-8")
    change = site.load()
    assert change.changed == {("en", "changes")} and not change.removed
    assert site.article("en", "stays") is kept  # not parsed again
    assert "After, longer." in site.article("en", "changes").source


def test_a_category_change_revalidates_every_article(tree: ContentTree) -> None:
    tree.add("en", "in-accounts", id=1, category="accounts")
    site = Site(tree.root)
    site.load()
    assert site.check() == []
    tree.write_categories({"billing": {"title": {"en": "Billing"}}})
    site.load()
    assert [p.message for p in site.check()] == [
        "unknown category 'accounts' (declare it in categories.yaml)"]
