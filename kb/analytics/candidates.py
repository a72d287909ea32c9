"""Synonym candidates learned from the search log (issue 13): a query that found nothing, or
whose results nobody opened, followed within WINDOW_MINUTES by the same visitor's query whose
result was opened. Listed with their counts over a report's period; an editor accepts one (it
becomes an equivalent group of synonyms.yaml) or dismisses it (hidden from then on).

The pairs come from kb.storage.reformulations (kept at write time, so a report reads only
the period's pairs); this module leaves out what synonyms.yaml
already says (the two in one group, or a one-way expansion between them) and queries too long
to be a synonym.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kb.analytics.periods import Filters, Period
from kb.content.model import Synonyms, normalise_phrase
from kb.content.site import Site
from kb.storage import reformulations as store
from kb.storage.db import Database

# "within a few minutes": the second search came at most this long after the first (the window
# the reformulations table is kept for, migration 0011)
WINDOW_MINUTES = store.WINDOW_SECONDS // 60
MAX_WORDS = 6  # a longer query is a sentence, not a phrase to keep as a synonym
MAX_CHARS = 100  # kb.content.synonyms.MAX_PHRASE_CHARS
LIMIT = 20  # candidates the dashboard lists


@dataclass(frozen=True)
class Candidate:
    lang: str
    first: str  # what the visitor searched first, without success
    second: str  # what they searched next, and opened a result of
    count: int  # times this reformulation happened in the period
    visitors: int  # by how many visitors


def known(synonyms: Synonyms, first: str, second: str) -> bool:
    """synonyms.yaml already makes one of the two find the other."""
    a, b = normalise_phrase(first), normalise_phrase(second)
    group = synonyms.group_of(a)
    if group is not None and b in group:
        return True
    return any((key == a and b in targets) or (key == b and a in targets) for key, targets in synonyms.one_way)


def _phrase(query: str) -> bool:
    return 0 < len(query) <= MAX_CHARS and len(query.split()) <= MAX_WORDS


async def reformulations(db: Database, period: Period, filters: Filters) -> list[store.Reformulation]:
    """The pairs of the period (the day of the search whose result was opened), most frequent
    first, dismissed ones left out. Only the language filter applies: a reformulation is the
    visitor's, not an article's, so category and type filters do not narrow it."""
    before = (period.until + timedelta(days=1)).isoformat()
    return await store.reformulations(db, period.since.isoformat(), before, filters.lang,
                                      window=WINDOW_MINUTES * 60)


def candidates(found: list[store.Reformulation], site: Site, limit: int = LIMIT) -> list[Candidate]:
    """The first `limit` pairs that synonyms.yaml does not already join (as loaded now)."""
    synonyms = site.content.synonyms
    result: list[Candidate] = []
    for row in found:
        if not (_phrase(row.first) and _phrase(row.second)) or known(synonyms.of(row.lang), row.first, row.second):
            continue
        result.append(Candidate(row.lang, row.first, row.second, row.count, row.visitors))
        if len(result) >= limit:
            break
    return result


async def dismiss(db: Database, lang: str, first: str, second: str, by: str) -> None:
    """Hide a candidate (in both directions) from every later report; committed on return."""
    await db.write(store.dismiss(lang, first, second, by))
