"""Facet counts read the documents a query matches as sets (kb.search.matches): the same
documents Whoosh's own matcher finds, whatever the query, the segments and the deletions."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from whoosh.query import AndNot, Query

from kb.search.matches import matching
from kb.search.query import parse_query
from kb.search.results import any_of
from tests.conftest import ContentTree, MakeClient
from tests.search_support import WORDS, two_segment_index


def test_the_documents_a_query_matches_are_whooshs_own_across_segments_and_deletions(tmp_path: Path) -> None:
    index = two_segment_index(tmp_path, random.Random(11))
    searcher = index._searcher("en")
    assert searcher is not None
    reader = searcher.reader()
    assert reader.has_deletions() or len(list(reader.leaf_readers())) > 1
    queries = [*WORDS, "router modem", "refund invoice billing", "pasword", "emergncy", "login -phone",
               '"security certificate"', "error update server", "the", "billing -refund -email",
               '-"router modem" domain', "certificate renewal", "modem"]
    compiler = index._compiler("en")
    for text in queries:
        compiled = compiler.compile(parse_query(text), reader)
        assert compiled is not None, text
        _same_documents(searcher, compiled.query, text)
        if len(compiled.clauses) > 1:
            loose = any_of(searcher, compiled.clauses)
            _same_documents(searcher, loose, text)
    index.close()


def _same_documents(searcher: Any, query: Query, text: str) -> None:
    """Every node of the query matches what Whoosh's matcher finds, except where Whoosh's
    AndNot is wrong (the next test): there, what the first part finds less the second."""
    if isinstance(query, AndNot):
        expected = set(searcher.docs_for_query(query.a)) - set(searcher.docs_for_query(query.b))
        assert matching(searcher, query) == expected, (text, query)
    elif not _has_and_not(query):
        assert matching(searcher, query) == set(searcher.docs_for_query(query)), (text, query)
    for child in query.children():
        _same_documents(searcher, child, text)


def _has_and_not(query: Query) -> bool:
    return isinstance(query, AndNot) or any(_has_and_not(child) for child in query.children())


def test_an_excluded_word_leaves_out_every_article_that_has_it_even_the_first(
        make_client: MakeClient, tree: ContentTree) -> None:
    # Indexed newest first, then by title: the excluded word's first article comes first.
    tree.add("en", "phone-plans", id=1, title="About phone plans", body="Which phone plan suits you.")
    tree.add("en", "login-phone", id=2, title="Login by phone", body="A code by SMS.")
    tree.add("en", "login-help", id=3, title="Login help", body="Reset your password.")
    client = make_client(tree.root)
    body = client.get("/api/v1/search", params={"q": "login -phone", "lang": "en"}).json()
    assert [r["slug"] for r in body["results"]] == ["login-help"]
    assert body["total"] == 1
