"""Markdown that real documentation contains: comments, GitHub alerts, reference links, line
breaks and literal braces render as a reader expects (kb.render and kb.mdplugins)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.render.markdown import RenderEnv, Renderer, nest_html
from tests.conftest import ContentTree, MakeClient

RENDERER = Renderer()


def render(source: str, **env: Any) -> Any:
    return RENDERER.render(source, RenderEnv(**env))


# --- HTML comments ------------------------------------------------------------------------------


def test_html_comments_vanish_inline_on_their_own_lines_and_across_blank_lines() -> None:
    out = render("Before <!-- inline note --> after.\n\n<!-- one line -->\n\n"
                 "<!--\nTODO: check the price\n\nwith the team\n-->\nLast paragraph.\n")
    assert "note" not in out.html and "TODO" not in out.html and "team" not in out.html
    assert "&lt;!--" not in out.html and "--&gt;" not in out.html
    assert "<p>Before  after.</p>" in out.html
    assert "<p>Last paragraph.</p>" in out.html
    assert out.text == "Before after. Last paragraph."
    assert out.problems == ()


def test_reference_definitions_right_after_a_comment_are_definitions() -> None:
    out = render("See [the guide][01] and [the FAQ][faq].\n\n"
                 "<!-- links used above -->\n[01]: https://example.com/guide\n[faq]: https://example.com/faq\n")
    assert '<a href="https://example.com/guide">the guide</a>' in out.html
    assert '<a href="https://example.com/faq">the FAQ</a>' in out.html
    assert "[01]" not in out.html and out.problems == ()


VISIBLE = "HTML comment shown as text: '<!--' without '-->' before the end of its paragraph " \
          "(start it on its own line, or close it)"


def test_an_unclosed_comment_stays_visible_and_is_reported() -> None:
    out = render("Intro.\n\n<!-- forgot to close\n\nThe answer.\n")
    assert "&lt;!-- forgot to close" in out.html and "The answer." in out.html
    assert out.problems == ((3, VISIBLE),)


def test_a_comment_cut_by_a_paragraph_end_is_reported_and_an_escaped_one_is_not() -> None:
    out = render("Intro.\n\nText <!-- a note\n\nthat goes on -->\n\nAnd \\<!-- this is shown on purpose.\n")
    assert out.problems == ((3, VISIBLE),)
    assert "&lt;!-- this is shown on purpose." in out.html


def test_comments_inside_code_are_code() -> None:
    out = render("`<!-- kept -->`\n\n```html\n<!-- also kept -->\n```\n")
    assert "<code>&lt;!-- kept --&gt;</code>" in out.html
    assert "&lt;!-- also kept --&gt;" in out.html


comment_words = st.lists(st.sampled_from(["word", " ", "\n", "\n\n", "-", "    ", "*", "`"]),
                         max_size=12).map("".join)


@given(before=st.sampled_from(["", "Text ", "Text\n", "Text\n\n", "- item\n\n", "> quote\n\n", "- "]),
       note=comment_words)
def test_a_comment_never_reaches_the_reader_unreported(before: str, note: str) -> None:
    out = render(f"{before}<!-- SECRET{note}SECRET -->\n\nVisible.\n")
    assert "Visible." in out.text
    if "SECRET" in out.html or "SECRET" in out.text:
        assert VISIBLE in [message for _, message in out.problems]
    # A blank line or a list item ends the paragraph the comment opened in: then it is only
    # reported (above). Otherwise it is always hidden.
    if "\n\n" not in note and not re.search(r"\n\s*[-*](\s|$)", note):
        assert "SECRET" not in out.html


# --- GitHub alerts ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["note", "tip", "important", "warning", "caution"])
def test_github_alerts_render_exactly_as_admonitions(kind: str) -> None:
    alert = render(f"> [!{kind.upper()}]\n> Check **this** first.\n>\n> - one\n> - two\n")
    admonition = render(f"!!! {kind}\n    Check **this** first.\n\n    - one\n    - two\n")
    assert alert.html == admonition.html
    assert f'<div class="admonition {kind}">\n<p class="admonition-title">{kind.title()}</p>' in alert.html
    assert "[!" not in alert.html and "<blockquote>" not in alert.html


def test_alert_markers_are_case_insensitive_and_only_alone_on_the_first_line() -> None:
    assert '<div class="admonition tip">' in render("> [!tip]\n> Lower case works.\n").html
    plain = render("> [!NOTE] text on the marker line\n\n> [!UNKNOWN]\n> text\n").html
    assert plain.count("<blockquote>") == 2 and "admonition" not in plain


def test_an_alert_title_is_in_the_pages_language_and_an_explicit_title_is_kept() -> None:
    assert '<p class="admonition-title">Aviso</p>' in render("> [!WARNING]\n> Cuidado.\n", lang="pt").html
    assert '<p class="admonition-title">Astuce</p>' in render("!!! tip\n    Voilà.\n", lang="fr").html
    assert '<p class="admonition-title">Own title</p>' in render('!!! tip "Own title"\n    x\n', lang="fr").html


def test_alerts_keep_raw_html_inert() -> None:
    out = render("> [!CAUTION]\n> <script>alert(1)</script>\n")
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html


# --- line breaks in plain text ------------------------------------------------------------------


def test_soft_and_hard_line_breaks_are_spaces_in_the_plain_text() -> None:
    assert render("a\nb").text == "a b"
    assert render("Compress with `bzip2`.\nMore information.").text == "Compress with bzip2. More information."
    assert render("hard  \nbreak\\\nagain").text == "hard break again"


@given(st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=12),
       st.lists(st.sampled_from([" ", "\n", "  \n", "\\\n"]), min_size=11, max_size=11))
def test_plain_text_never_glues_words_across_lines(words: list[str], gaps: list[str]) -> None:
    source = words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:], strict=False))
    assert render(source).text.split() == words


def test_a_hard_wrapped_paragraph_is_indexed_word_by_word(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "archives", id=1, title="Compressing files", summary="Archives.",
             body="Compress files with `bzip2`.\nMore information about packing\ntogether many files.\n")
    client = make_client(tree.root)
    for word in ("bzip2", "together", "packing"):
        body = client.get("/api/v1/search", params={"q": word, "lang": "en"}).json()
        assert [r["slug"] for r in body["results"]] == ["archives"], word
    highlight = client.get("/api/v1/search", params={"q": "bzip2", "lang": "en"}).json()["results"][0]["highlight"]
    assert "bzip2" in highlight and ".More" not in highlight and "packingtogether" not in highlight


# --- literal braces -----------------------------------------------------------------------------


def test_escaped_braces_show_literally_and_are_no_policy_snippet() -> None:
    out = render('Print with `awk \'{print $1}\'` or type \\{{foo}} as "\\{{ bar }}".\n')
    assert "{{foo}}" in out.html and "{{ bar }}" in out.html and "\\{{" not in out.html
    assert "snippet-unavailable" not in out.html
    assert out.problems == () and out.policy_keys == frozenset()
    assert "{{foo}}" in out.text


def test_braces_in_code_stay_verbatim_backslash_included() -> None:
    out = render("`{{ premium.cost }}` and `\\{{x}}`\n\n```\n{{ premium.cost }}\n\\{{y}}\n```\n")
    assert "<code>{{ premium.cost }}</code>" in out.html and "<code>\\{{x}}</code>" in out.html
    assert "{{ premium.cost }}\n\\{{y}}\n</code></pre>" in out.html
    assert out.problems == () and out.policy_keys == frozenset()


def test_unescaped_braces_are_still_a_snippet() -> None:
    out = render("Costs {{ premium.cost }}.\n")
    assert "snippet-unavailable" in out.html and out.policy_keys == {"premium.cost"}


# --- HTML nested in another page ---------------------------------------------------------------


def test_nested_html_prefixes_ids_and_in_page_links_and_shifts_headings() -> None:
    html = render("# Top\n\n## Details\n\nSee [here](#details), [there](https://a.example/#details) "
                  "and [top](#).\n\n### Deeper\n\n`<h2 id=\"x\">`\n\n###### Six\n").html
    nested = nest_html(html, "faq7-", below=2)
    assert '<h3>Top</h3>' in nested and '<h3 id="faq7-details">Details</h3>' in nested
    assert '<h4 id="faq7-deeper">Deeper</h4>' in nested and "<h6>Six</h6>" in nested
    assert 'href="#faq7-details"' in nested and 'href="https://a.example/#details"' in nested
    assert 'href="#"' in nested
    assert "&lt;h2 id=&quot;x&quot;&gt;" in nested  # text that looks like HTML is left alone
