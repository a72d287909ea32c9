"""Issue 13: synonym candidates learned from the search log, on SQLite and on PostgreSQL.

A reformulation is a visitor's search that found nothing, or whose results went unopened, then
within five minutes their search whose result was opened. Search-log sequences are written
with their times, then the candidate query reads them back.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.analytics.candidates import WINDOW_MINUTES, known
from kb.content.model import Synonyms
from kb.storage.db import Conn, Database
from kb.storage.reformulations import dismiss, reformulations
from tests.conftest import DIALECTS, database_for

database_url = pytest.fixture(params=DIALECTS)(database_for)
WINDOW = WINDOW_MINUTES * 60
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


@dataclass(frozen=True)
class Step:
    """One search of a visitor: `at` seconds after START, how many results, opened or not."""

    query: str
    at: float
    results: int = 3
    opened: bool = False
    visitor: str = "v1"
    lang: str = "en"


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def log(db: Database, steps: Sequence[Step]) -> None:
    """The search log of `steps`: each search, and a click on its first result when opened."""
    async def op(conn: Conn) -> None:
        for step in steps:
            search_id = next(_ids)
            await conn.execute(
                "INSERT INTO searches (id, query, lang, results, took_ms, visitor, created_at) "
                "VALUES (?, ?, ?, ?, 1.0, ?, ?)", (search_id, step.query, step.lang, step.results, step.visitor,
                                                   stamp(step.at)))
            if step.opened:
                await conn.execute(
                    "INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor, created_at) "
                    "VALUES (?, ?, ?, 7, 1, ?, ?)", (search_id, step.query, step.lang, step.visitor,
                                                     stamp(step.at + 2)))

    await db.write(op)


async def found(db: Database, lang: str | None = None) -> list[tuple[str, str, int, int]]:
    rows = await reformulations(db, "2026-03-01", "2026-04-01", lang, window=WINDOW)
    return [(r.first, r.second, r.count, r.visitors) for r in rows]


async def test_a_failed_search_then_an_opened_one_within_five_minutes_is_a_candidate(db: Database) -> None:
    await log(db, [Step("chargeback", 0, results=0), Step("refund", 40, opened=True),
                   Step("cheaper plan", 1000), Step("downgrade", 1000 + 299, opened=True)])  # results, none opened
    assert await found(db) == [("chargeback", "refund", 1, 1), ("cheaper plan", "downgrade", 1, 1)]


async def test_outside_the_window_another_visitor_or_nothing_opened_is_no_candidate(db: Database) -> None:
    await log(db, [
        Step("chargeback", 0, results=0), Step("refund", WINDOW + 1, opened=True),  # too late
        Step("payback", 5000, results=0, visitor="v2"), Step("refund", 5030, opened=True, visitor="v3"),
        Step("cashback", 9000, results=0), Step("refund", 9030),  # its results were not opened either
        Step("moneyback", 12000, results=0, lang="fr"), Step("refund", 12030, opened=True),  # another language
        Step("rebate", 15030, opened=True), Step("refund", 15060, opened=True),  # the first one worked
        Step("credit note", 20060, results=0), Step("refund", 20000, opened=True),  # before, not after
    ])
    assert await found(db) == []


async def test_typing_steps_of_instant_search_are_not_candidates(db: Database) -> None:
    """A client of the search API may search as the visitor types: "ref", "refu", "refund"."""
    typed = ["r", "re", "ref", "refu", "refun", "refund"]
    await log(db, [Step(q, i, results=0 if i < 3 else 2) for i, q in enumerate(typed[:-1])]
              + [Step("refund", 5, opened=True)])
    assert await found(db) == []
    # Typed, then deleted back and replaced: only the query meant counts, not its steps.
    steps = ["c", "ch", "cha", "char", "charg", "charge", "chargeb", "chargeba", "chargebac", "chargeback",
             "chargebac", "chargeba", "charge", "c", "", "m", "mo", "mon", "mone", "money", "money b", "money back"]
    await log(db, [Step(q, 100 + i, results=0 if q.startswith("charge") or q == "c" else 2,
                        visitor="v2") for i, q in enumerate(steps) if q]
              + [Step("money back", 130, opened=True, visitor="v2")])
    assert await found(db) == [("chargeback", "money back", 1, 1)]


async def test_refining_a_query_is_not_a_synonym(db: Database) -> None:
    await log(db, [Step("refund", 0, results=0), Step("refund premium support", 20, opened=True),
                   Step("refund policy", 100, results=0), Step("refund", 120, opened=True),
                   Step("vpn", 200), Step("vpn", 210, opened=True)])
    assert await found(db) == []


async def test_candidates_are_counted_per_pair_and_a_failure_pairs_with_the_next_success_only(db: Database) -> None:
    await log(db, [
        Step("chargeback", 0, results=0), Step("chargeback", 10, results=0), Step("refund", 20, opened=True),
        Step("chargeback", 100, results=0, visitor="v2"), Step("refund", 130, opened=True, visitor="v2"),
        Step("reimbursement", 140, opened=True, visitor="v2"),  # after the success: not this failure's
        Step("chargeback", 500, results=0), Step("refund", 520, opened=True),  # v1 again, later
        Step("cheaper plan", 900, results=0, visitor="v3"), Step("downgrade", 930, opened=True, visitor="v3"),
    ])
    assert await found(db) == [("chargeback", "refund", 3, 2), ("cheaper plan", "downgrade", 1, 1)]


async def test_the_period_and_the_language_filter_apply(db: Database) -> None:
    await log(db, [Step("chargeback", 0, results=0), Step("refund", 20, opened=True),
                   Step("remboursé", 40, results=0, lang="fr", visitor="v2"),
                   Step("remboursement", 60, opened=True, lang="fr", visitor="v2")])
    assert await found(db, "fr") == [("remboursé", "remboursement", 1, 1)]
    assert await reformulations(db, "2026-03-11", "2026-04-01", None, window=WINDOW) == []
    await log(db, [Step("cashback", 86_000 - 60, results=0), Step("refund", 86_000, opened=True)])  # the 11th
    on_the_10th = await reformulations(db, "2026-03-10", "2026-03-11", "en", window=WINDOW)
    assert [(r.first, r.count) for r in on_the_10th] == [("chargeback", 1)]
    on_the_11th = await reformulations(db, "2026-03-11", "2026-03-12", "en", window=WINDOW)
    assert [(r.first, r.count) for r in on_the_11th] == [("cashback", 1)]


async def test_a_dismissed_candidate_stays_hidden_in_both_directions(db: Database) -> None:
    await log(db, [Step("chargeback", 0, results=0), Step("refund", 20, opened=True),
                   Step("refund", 500, results=0, visitor="v2"), Step("chargeback", 520, opened=True, visitor="v2"),
                   Step("cheaper plan", 900, results=0), Step("downgrade", 930, opened=True)])
    await db.write(dismiss("en", "chargeback", "refund", "ed"))
    await db.write(dismiss("en", "chargeback", "refund", "ed"))  # twice is once
    assert await found(db) == [("cheaper plan", "downgrade", 1, 1)]
    await db.write(dismiss("fr", "cheaper plan", "downgrade", "ed"))  # another language's
    assert await found(db) == [("cheaper plan", "downgrade", 1, 1)]


def test_a_pair_synonyms_yaml_already_joins_is_known() -> None:
    synonyms = Synonyms(equivalent=(("refund", "money back", "reimbursement"),),
                        one_way=(("emergency", ("urgent", "outage")),))
    assert known(synonyms, "Money  Back", "refund")
    assert known(synonyms, "urgent", "emergency") and known(synonyms, "emergency", "outage")
    assert not known(synonyms, "chargeback", "refund")
    assert not known(synonyms, "urgent", "outage")  # two targets of one key find nothing of each other


# --- generated sequences against the definition ------------------------------------------------

QUERIES = ["refund", "ref", "money back", "chargeback", "charge", "downgrade", "cheaper plan", "vpn"]
step_strategy = st.builds(
    Step, query=st.sampled_from(QUERIES), at=st.integers(0, 900).map(float), results=st.sampled_from([0, 3]),
    opened=st.booleans(), visitor=st.sampled_from(["v1", "v2"]), lang=st.sampled_from(["en", "en", "fr"]))


def expected(steps: Sequence[Step]) -> list[tuple[str, str, str, int, int]]:
    """The definition, written plainly: for each opened search, every earlier failed search of the
    same visitor and language within the window that is neither a typing step nor a prefix of it,
    with no opened search between them. (lang, first, second, times, visitors), most frequent first."""
    ordered = sorted(enumerate(steps), key=lambda pair: (pair[1].at, pair[0]))  # ids follow the writing order
    pairs: dict[tuple[str, str, str], set[tuple[int, str]]] = {}
    for ci, c in ordered:
        if not c.opened:
            continue
        for fi, f in ordered:
            if f.visitor != c.visitor or f.lang != c.lang or not (c.at - WINDOW <= f.at and (f.at, fi) < (c.at, ci)):
                continue
            if f.opened or c.query.startswith(f.query) or f.query.startswith(c.query):
                continue
            if any(t.visitor == f.visitor and t.lang == f.lang and f.at - WINDOW <= t.at <= c.at
                   and len(t.query) > len(f.query) and t.query.startswith(f.query) for t in steps):
                continue
            if any(e.opened and e.visitor == f.visitor and e.lang == f.lang and (f.at, fi) < (e.at, ei) < (c.at, ci)
                   for ei, e in ordered):
                continue
            pairs.setdefault((f.lang, f.query, c.query), set()).add((ci, c.visitor))
    rows = [(*key, len(seen), len({v for _, v in seen})) for key, seen in pairs.items()]
    return sorted(rows, key=lambda r: (-r[3], -r[4], r[1], r[2], r[0]))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(steps=st.lists(step_strategy, max_size=14))
def test_generated_search_logs_give_the_candidates_of_the_definition(steps: list[Step]) -> None:
    # A search with no result has no result to open.
    steps = [Step(s.query, s.at, s.results, s.opened and s.results > 0, s.visitor, s.lang) for s in steps]

    async def run(path: Path) -> list[tuple[str, str, str, int, int]]:
        database = Database(path)
        await database.open()
        try:
            await log(database, steps)
            got = await reformulations(database, "2026-03-01", "2026-04-01", None, window=WINDOW)
        finally:
            await database.close()
        return [(r.lang, r.first, r.second, r.count, r.visitors) for r in got]

    with tempfile.TemporaryDirectory() as folder:
        assert asyncio.run(run(Path(folder) / "kb.sqlite3")) == expected(steps)
