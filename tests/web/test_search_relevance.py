"""Ranking changes measured on real text (bench/relevance.py, tldr-pages): each test is a small
real index showing the case a change fixes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import ContentTree, MakeClient
from tests.search_support import slugs

# --- words said together rank above words said apart ---------------------------------------------


@pytest.fixture
def services(make_client: MakeClient, tree: ContentTree) -> Any:
    """The page that says "start stopped services" is long; a shorter page says each word, apart
    and more often (BM25 alone put it first: tldr's `service` above `Start-Service`)."""
    tree.add("en", "start-service", id=1, title="Start-Service", summary="Start stopped services.",
             body="Run it as an administrator. " + "It reads the name of each one from the pipeline. " * 12)
    tree.add("en", "service", id=2, title="service", summary="Manage init scripts.",
             body="A service can be stopped. Start a service. Services listed with their state. "
                  "Restart a service that was stopped; start again.")
    tree.add("pt", "lsblk", id=3, title="lsblk", summary="Lista informações dos dispositivos de bloco.",
             body="Mostra os discos e as partições, com o tamanho e o ponto de montagem. " * 12)
    tree.add("pt", "ip", id=4, title="ip", summary="Mostra dispositivos de rede, rotas e informações; lista túneis.",
             body="Lista as rotas. Informações de cada rota, e dispositivos. Túneis e dispositivos de rede, "
                  "e as suas informações.")
    return make_client(tree.root)


@pytest.mark.parametrize(("query", "lang", "expected"), [
    ("start stopped services", "en", "start-service"),
    ("start stopped service", "en", "start-service"),  # another word form: the stems are together
    ("start stoped services", "en", "start-service"),  # a typo: its correction is together
    ("lista informações dispositivos", "pt", "lsblk"),  # "dos" between them is a stop word: not counted
])
def test_an_article_that_says_the_query_words_together_ranks_first(services: TestClient, query: str, lang: str,
                                                                    expected: str) -> None:
    assert slugs(services, query, lang)[0] == expected


def test_words_said_apart_still_find_the_article(services: TestClient) -> None:
    assert set(slugs(services, "start stopped services")) == {"start-service", "service"}
    assert slugs(services, "services stopped start")[0] == "service"  # no pair in this order: BM25 decides
