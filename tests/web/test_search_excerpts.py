"""Search excerpts read like the page a customer will open: rendered text, whole words.

Each article here carries syntax an excerpt once showed raw (a policy snippet, a definition
list drawn by a snippet, callouts, a code block of front matter) or a long word where the
excerpt is cut.
"""

from __future__ import annotations

import re
import shutil

from tests.conftest import SAMPLE_CONTENT, ContentTree, MakeClient
from tests.web.test_search import search


def excerpt_of(tree: ContentTree, make_client: MakeClient, body: str, query: str) -> str:
    shutil.copy(SAMPLE_CONTENT / "policy.yaml", tree.root / "policy.yaml")
    tree.add("en", "page", id=1, title="Odd page", summary="A page.", body=body)
    results = search(make_client(tree.root), query)["results"]
    assert [r["slug"] for r in results] == ["page"]
    return str(results[0]["highlight"])


def plain(highlight: str) -> str:
    return highlight.replace("<mark>", "").replace("</mark>", "")


def test_a_policy_value_shows_resolved_not_as_its_key(make_client: MakeClient, tree: ContentTree) -> None:
    text = plain(excerpt_of(tree, make_client, "Premium Support comes with a minimum commitment of "
                            "{{ premium.commitment.months }}. Plan for it.", "minimum"))
    assert "commitment of 6 months." in text
    assert "{{" not in text and "premium.commitment" not in text


def test_a_definition_term_is_set_apart_from_its_definition(make_client: MakeClient, tree: ContentTree) -> None:
    text = plain(excerpt_of(tree, make_client, "Where is it?\n\n::code[codes.support]\n", "sequence"))
    # the snippet draws <dt>What it is</dt><dd>A sequence of numbers…</dd>: not "What it is A sequence"
    assert "What it is: A sequence of numbers" in text
    assert "::code" not in text


def test_callouts_and_code_blocks_show_no_syntax(make_client: MakeClient, tree: ContentTree) -> None:
    body = ('!!! warning "No refund"\n    Once subscribed, Premium Support is not refunded.\n\n'
            "> [!CAUTION]\n> A refund is never made\n\n"
            "Write the front matter:\n\n```yaml\n---\nid: 3\ntitle: refund\n---\n```\n\n"
            "## Refund steps\nNone at all")
    text = plain(excerpt_of(tree, make_client, body, "refund"))
    assert "No refund. Once subscribed" in text  # the callout's title is a sentence of its own
    assert "A refund is never made." in text
    assert "Refund steps. None at all" in text  # a heading does not run into the next block
    for syntax in ("!!!", "[!", "---", "id: 3", "```", "##", ">"):
        assert syntax not in text, syntax


def test_an_excerpt_never_cuts_a_word(make_client: MakeClient, tree: ContentTree) -> None:
    # the excerpt window ends 600 characters after the first match: a second match just before
    # it puts a long word across that end
    long_word = "Supercalifragilisticexpialidociously"
    filler = " ".join(["other"] * 200)
    body = f"needle first. {filler[:560]} needle again then {long_word} and more words {filler}"
    assert body.index(long_word) < 600 < body.index(long_word) + len(long_word)
    text = plain(excerpt_of(tree, make_client, body, "needle"))
    words = set(re.findall(r"\w+", body))
    assert set(re.findall(r"\w+", text)) <= words, text
    assert not text.rstrip(" …").endswith(("Super", "Supercalifragilistic"))
