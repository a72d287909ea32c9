"""Ranking defects found on real reference material (tldr-pages, PowerShell help): exact titles
first, stop-word and one-letter titles found, "_" and "--option" read as people mean them, rare
words never "corrected" away, each title shown once, corrections fast on a many-segment index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from whoosh.reading import MultiReader

from kb.content.site import Site
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from tests.conftest import ContentTree, MakeClient
from tests.search_support import search, slugs

# --- a page whose title is the query comes first ------------------------------------------------


@pytest.fixture
def reference(make_client: MakeClient, tree: ContentTree) -> Any:
    """Command pages where other pages say the query's words more often than its own page."""
    tar = "Use tar to pack the tar archive; tar reads tar files."
    tree.add("en", "tar", id=1, title="tar", summary="Archiving utility.", body="Create an archive.")
    tree.add("en", "git-get-tar-commit-id", id=2, title="git-get-tar-commit-id",
             summary="Get the commit id of a tar archive made by git archive.", body=f"{tar} {tar}")
    tree.add("en", "tar-split", id=3, title="tar split", summary="Split a tar archive.", body=tar)
    breakpoints = "Set a breakpoint with Set-PSBreakpoint, then set it again. " * 3
    tree.add("en", "set-psbreakpoint", id=4, title="Set-PSBreakpoint", summary="Sets a breakpoint.",
             body="Stops the script at a line, a command or a variable. " * 40)  # long: BM25 favours short
    tree.add("en", "disable-psbreakpoint", id=5, title="Disable-PSBreakpoint",
             summary="Disables breakpoints set in the console.", body=breakpoints)
    tree.add("en", "get-psbreakpoint", id=6, title="Get-PSBreakpoint",
             summary="Gets the breakpoints set in the session.", body=breakpoints)
    tree.add("en", "out-file", id=7, title="Out-File", summary="Sends output to a file.", body="Writes to disk.")
    tree.add("en", "get-file", id=8, title="Get file contents", summary="Reads a file.",
             body="The file, the file and the file again: file file file.")
    tree.add("en", "where-object", id=9, title="Where-Object", summary="Selects objects by property.",
             body="Filters a pipeline.")
    tree.add("en", "about-if", id=10, title="about_If", summary="Describes a conditional statement.",
             body="Runs a block when a condition holds.")
    tree.add("en", "about-aliases", id=11, title="about_Aliases", summary="Describes alternate names.",
             body="Short names for commands.")
    tree.add("en", "pacman", id=13, title="pacman", summary="Package manager.", body="Use pacman -D or pacman -S.")
    tree.add("en", "pacman-d", id=14, title="pacman -D", summary="Database options.", body="Marks packages.")
    tree.add("en", "double-parens", id=15, title="((", summary="Arithmetic in bash.", body="Evaluates numbers.")
    tree.add("en", "object-guide", id=12, title="Objects guide", summary="Objects, where they come from.",
             body="Where an object goes, about what it holds and if it is kept.")
    return make_client(tree.root)


@pytest.mark.parametrize(("query", "expected"), [
    ("tar", "tar"),  # issue 16: "git-get-tar-commit-id" came first
    ("set psbreakpoint", "set-psbreakpoint"),  # issue 10: "Disable-PSBreakpoint" scored higher
    ("Set-PSBreakpoint", "set-psbreakpoint"),
    ("psbreakpoint set", "set-psbreakpoint"),  # every word of the title, in another order
    ("out-file", "out-file"),  # "out" is a stop word: the title keeps it
    ("out file", "out-file"),
    ("pacman -D", "pacman-d"),  # the whole text as typed, though "-D" reads as an exclusion
    ("((", "double-parens"),  # no word at all: only an exact title can match
])
def test_a_page_whose_title_is_the_query_ranks_first(reference: TestClient, query: str, expected: str) -> None:
    assert slugs(reference, query)[0] == expected


def test_titles_with_every_word_rank_before_pages_that_only_mention_them(reference: TestClient) -> None:
    order = slugs(reference, "tar")
    assert order[:2] == ["tar", "tar-split"]  # the whole title, then a title with the word
    assert order.index("git-get-tar-commit-id") == 2  # "tar" is in its title too, not alone


# --- stop words and one-letter words ----------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("where", "where-object"),  # issue 10: nothing was found
    ("if", "about-if"),
    ("about if", "about-if"),
    ("about aliases", "about-aliases"),  # issue 10: "_" did not separate words
    ("aliases", "about-aliases"),
    ("about_Aliases", "about-aliases"),
])
def test_queries_of_stop_words_are_searched_as_typed(reference: TestClient, query: str, expected: str) -> None:
    assert slugs(reference, query)[0] == expected


def test_a_query_of_stop_words_also_finds_pages_that_only_mention_them(reference: TestClient) -> None:
    assert set(slugs(reference, "where")) == {"where-object", "object-guide"}
    assert slugs(reference, "about if") == ["about-if", "object-guide"]


@pytest.mark.parametrize(("lang", "title"), [
    ("en", "until"), ("en", "which"), ("en", "more"), ("en", "who"), ("en", "as"), ("en", "q"),
    ("en", "r"), ("en", "c++"), ("en", "vi"), ("fr", "du"), ("de", "am"), ("it", "vi"),
])
def test_titles_made_of_a_stop_word_or_one_letter_are_found(make_client: MakeClient, tree: ContentTree, lang: str, title: str) -> None:
    body = f"Which page is more useful until now? Who knows: as q or r, vi or c, du or am. {title} {title}."
    tree.add(lang, "target", id=1, title=title, summary="A command.", body="Runs it.")
    for number in range(2, 6):
        tree.add(lang, f"other-{number}", id=number, title=f"Other page {number}", body=body)
    assert slugs(make_client(tree.root), title, lang)[0] == "target"


# --- options, numbers, hyphens ----------------------------------------------------------------


def test_a_minus_excludes_only_before_a_letter_at_the_start_of_a_word() -> None:
    parsed = parse_query("acme.sh --dns -1 a-b -refund -\"money back\" x -- -")
    assert parsed.words == ("acme.sh", "--dns", "-1", "a-b", "x")  # "--" and "-" have no word
    assert parsed.excluded == ("money back", "refund")  # quoted parts are read first


def test_an_option_in_the_query_finds_the_page_that_documents_it(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "acme-sh", id=1, title="acme.sh", summary="Certificates.",
             body="Issue a certificate with a DNS challenge: `acme.sh --issue --dns dns_cf --domain example.com`")
    tree.add("en", "acme-other", id=2, title="acme.sh webroot", summary="Certificates.",
             body="Issue a certificate: `acme.sh --issue --webroot /var/www`")
    client = make_client(tree.root)
    assert slugs(client, "acme.sh --dns") == ["acme-sh"]  # issue 16: "--dns" excluded its own page
    assert slugs(client, "acme.sh -dns") == ["acme-other"]  # "-" before a word still excludes


# --- typo correction never replaces a word the index has ------------------------------------


@pytest.fixture
def rare_words(make_client: MakeClient, tree: ContentTree) -> Any:
    tree.add("en", "conntrack", id=1, title="conntrack", summary="Tracks network connections.",
             body="List the connection tracking table.")
    for number in range(2, 8):
        tree.add("en", f"contract-{number}", id=number, title=f"Contract terms {number}",
                 summary="Your contract.", body="The contract and its renewal.")
    tree.add("en", "cut", id=8, title="cut", summary="Cuts out fields.", body="Select fields from lines.")
    for number in range(9, 14):
        tree.add("en", f"cat-{number}", id=number, title=f"Printing with cat {number}",
                 summary="Print a file with cat.", body="The cat command prints files.")
    return make_client(tree.root)


@pytest.mark.parametrize(("query", "expected"), [
    ("conntrack", "conntrack"),  # issue 16: rewritten to "contract", its own page lost
    ("conntrack table", "conntrack"),
    ("cut", "cut"),  # issue 16: rewritten to "cat"
    ("cut fields", "cut"),
])
def test_a_rare_word_the_index_has_is_searched_as_typed(rare_words: TestClient, query: str, expected: str) -> None:
    assert slugs(rare_words, query)[0] == expected


def test_a_rare_words_correction_only_adds_results_after_it(rare_words: TestClient) -> None:
    body = search(rare_words, "conntrack")
    order = [r["slug"] for r in body["results"]]
    assert order[0] == "conntrack"
    assert all(slug.startswith("contract-") for slug in order[1:]) and len(order) > 1
    assert body["suggestion"] == "contract"  # offered, not imposed


def test_an_unknown_word_is_still_corrected(rare_words: TestClient) -> None:
    body = search(rare_words, "contrat")
    assert body["results"] and all(r["slug"].startswith("contract-") for r in body["results"])
    assert body["suggestion"] == "contract"


# --- corrections on an index of several segments ----------------------------------------------


def test_corrections_are_looked_up_per_segment(tmp_path: Path, tree: ContentTree,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A multi-segment reader's terms_within compares every term of the index (2.6-6x slower
    than each segment's word graph): corrections must never call it."""
    for number in range(1, 9):
        tree.add("en", f"router-{number}", id=number, title=f"Router model {number}", body="Restart the router.")
    site = Site(tree.root)
    site.load()
    index = SearchIndex(tmp_path / "index")
    index.rebuild(site)
    tree.add("en", "modem", id=20, title="Modem lights", body="The modem blinks.")
    site.load()
    assert index.sync(site) == 1  # a second segment, as after `kb index --update` or an edit

    def brute_force(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("terms_within on a MultiReader walks every term")

    monkeypatch.setattr(MultiReader, "terms_within", brute_force)
    try:
        searcher = index._searcher("en")
        assert searcher is not None and len(searcher.reader().leaf_readers()) == 2
        results = index.search("en", parse_query("ruoter modme"))
        assert results.suggestion == "router modem"
        results = index.search("en", parse_query("modme"))
        assert [h.slug for h in results.hits] == ["modem"]  # the word only the new segment has
    finally:
        index.close()


# --- each title once ----------------------------------------------------------------------------


@pytest.fixture
def copies(make_client: MakeClient, tree: ContentTree) -> Any:
    for number, category in enumerate(["billing", "refunds", "accounts", "billing", "refunds"], start=1):
        tree.add("en", f"get-it-{number}", id=number, title="get-it", category=category, tags=["get"],
                 summary="Downloads a file.", folder=f"{category}-{number}")
    tree.add("en", "get-started", id=9, title="Get started", category="billing", tags=["get"])
    return make_client(tree.root)


def test_suggestions_show_each_title_once(copies: TestClient) -> None:
    body = copies.get("/api/v1/suggest", params={"q": "get", "lang": "en"}).json()
    titles = [s["title"] for s in body["suggestions"]]
    assert sorted(titles) == ["Get started", "get-it"]  # issue 10: five times "get-it"


def test_related_articles_show_each_title_once(copies: TestClient) -> None:
    html = copies.get("/en/articles/get-started").text
    related = html[html.index('id="related-title"'):]
    related = related[:related.index("</section>")]
    assert len(re.findall(r">\s*get-it\s*<", related)) == 1
    html = copies.get("/en/articles/get-it-1").text
    related = html[html.index('id="related-title"'):]
    assert not re.findall(r">\s*get-it\s*<", related[:related.index("</section>")])  # not itself again
