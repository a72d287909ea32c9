"""What search tests share: asking the real app's search API, and random small articles."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from kb.content.site import Site
from kb.search.index import SearchIndex
from tests.conftest import ContentTree

WORDS = ["router", "modem", "invoice", "refund", "password", "login", "email", "domain", "server",
         "backup", "billing", "renewal", "security", "certificate", "error", "update", "phone"]


def add_random_article(tree: ContentTree, rng: random.Random, number: int) -> None:
    """Article `number` in English: a title, a heading, a tag and a body of WORDS drawn by `rng`."""
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
    tree.add("en", f"page-{number}", id=number, title=" ".join(rng.sample(WORDS, 2)).capitalize(),
             body=f"## {rng.choice(WORDS)}\n\n{body}\n", tags=rng.sample(WORDS, 1),
             category=rng.choice(["billing", "accounts"]))


def search(client: Any, q: str, lang: str = "en", **params: Any) -> dict[str, Any]:
    """GET /api/v1/search; the JSON body of a 200 answer."""
    response = client.get("/api/v1/search", params={"q": q, "lang": lang, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def slugs(client: Any, q: str, lang: str = "en") -> list[str]:
    """The slugs of the first page of results, best first."""
    return [r["slug"] for r in search(client, q, lang)["results"]]


def two_segment_index(tmp_path: Path, rng: random.Random) -> SearchIndex:
    """60 random articles, a quarter of them rewritten after the build (deleted from the first
    segment, added to a second) and one removed."""
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 61):
        add_random_article(tree, rng, number)
    site = Site(tree.root)
    site.load()
    index = SearchIndex(tmp_path / "index")
    index.rebuild(site)
    for number in range(1, 61, 4):
        add_random_article(tree, rng, number)
    for category in ("billing", "accounts"):
        (tree.root / "en" / category / "page-2.md").unlink(missing_ok=True)
    site.load()
    assert index.sync(site) > 10
    return index
