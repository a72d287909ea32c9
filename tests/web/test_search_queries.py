"""Search finds what customers mean, asked the way they ask (issue 13).

tests/search_queries.tsv holds questions written as customers write them on the sample content,
in English, Portuguese and French: colloquial words, other word forms, a typo or two, never an
article's title copied. Each names the article it must find. They run through the real search
API over the sample index: the right article comes first for at least 95% of them and is in the
top three for every one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

QUERIES = Path(__file__).resolve().parent.parent / "search_queries.tsv"
TOP1_GOAL = 0.95


@dataclass(frozen=True)
class Case:
    line: int
    lang: str
    query: str
    expected: str  # a slug of the sample content, in `lang`


def cases() -> list[Case]:
    with QUERIES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["lang", "query", "expected"], "columns: lang, query, expected"
    return [Case(number, *row) for number, row in enumerate(rows[1:], start=2)]


def test_the_customer_queries_cover_three_languages_and_every_public_sample_article(
        sample_client: TestClient) -> None:
    found = cases()
    assert len(found) >= 60
    by_lang = {lang: [c for c in found if c.lang == lang] for lang in ("en", "pt", "fr")}
    assert all(len(group) >= 15 for group in by_lang.values()), {k: len(v) for k, v in by_lang.items()}
    assert {c.lang for c in found} == set(by_lang)
    assert len({(c.lang, c.query.lower()) for c in found}) == len(found), "a query is listed twice"
    site = sample_client.app.state.kb.site  # type: ignore[attr-defined]
    for case in found:
        article = site.content.articles.get((case.lang, case.expected))
        assert article is not None and article.published and not article.internal, case
        # never the title copied
        assert case.query.strip(" ?").lower() != article.title.lower(), case
    for lang, group in by_lang.items():
        public = {a.slug for a in site.published(lang)}
        assert {c.expected for c in group} == public, f"{lang}: every public article is asked for"


def test_customer_queries_find_their_article_first_95_percent_of_the_time_and_always_in_the_top_three(
        sample_client: TestClient) -> None:
    found = cases()
    misses: list[str] = []
    first = 0
    outside = 0
    for case in found:
        response = sample_client.get("/api/v1/search", params={"q": case.query, "lang": case.lang, "limit": 10})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        slugs = [r["slug"] for r in results]
        rank = slugs.index(case.expected) + 1 if case.expected in slugs else 0
        if rank == 1:
            first += 1
            continue
        outside += not 1 <= rank <= 3
        top = " | ".join(r["title"] for r in results[:3]) or "no result"
        misses.append(f"  line {case.line} [{case.lang}] {case.query!r}: "
                      f"{'rank ' + str(rank) if rank else 'not found'} (top 3: {top})")
    top1 = first / len(found)
    report = (f"top-1 {top1:.1%} (goal {TOP1_GOAL:.0%}), {outside} outside the top 3 (goal 0), "
              f"{len(found)} queries; misses:\n" + "\n".join(misses))
    print(report)
    assert top1 >= TOP1_GOAL and outside == 0, report
