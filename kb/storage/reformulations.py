"""SQL of synonym candidates: reformulations found in the search log (searches, search_clicks)
and the candidates editors dismissed (synonym_dismissals, migration 0009).

A reformulation is a pair of searches of one visitor in one language: a first search that
found nothing or whose results nobody opened, then, at most `window` seconds later, the first
search of theirs whose result was opened. What the log holds shapes the rules:
- queries are stored normalised (NFKC, whitespace collapsed, lower case: kb.search.log), so
  they are compared as stored;
- the search page logs what was submitted, but a client of /api/v1/search may search as the
  visitor types ("ref", "refu", "refund"): a pair where one query starts with the other is
  typing, not a reformulation, and a failed query that another search of the visitor extends
  (typed on, or deleted back from, within the window) is a step of typing, not the query meant.

The pairs of the kept window (WINDOW_SECONDS) are maintained at write time in the
reformulations table by triggers on searches and search_clicks (migration 0011, both dialects):
each write that can change a visitor's pairs recomputes that visitor's pairs in that language
from the write's time on, so a report is an indexed aggregate of the period's rows. A row is
one opened search and one failed query (count(*) is the count of opened searches), and carries
the time of the visitor's previous row of the pair (`prev_at`): a visitor is counted at their
first row of the period, so no count(DISTINCT) has to sort the period's rows. `scanned`
is the same definition read from the log at report time: it answers any other window, and the
tests and bench/synonym_candidates.py hold the table to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.storage.db import Conn, Database, WriteOp

SCAN_LIMIT = 1000  # candidate pairs read per report, most frequent first
WINDOW_SECONDS = 300  # the window the reformulations table is kept for (migration 0011 says 300 s)


@dataclass(frozen=True)
class Reformulation:
    lang: str
    first: str  # the query that failed
    second: str  # the query whose result was opened
    count: int  # reformulations: clicked searches that followed the first query
    visitors: int


_NOT_DISMISSED = """NOT EXISTS (
            SELECT 1 FROM synonym_dismissals x
            WHERE x.lang = p.lang AND ((x.first_query = p.first AND x.second_query = p.second)
                                       OR (x.first_query = p.second AND x.second_query = p.first)))"""


async def reformulations(db: Database, since: str, before: str, lang: str | None, *,
                         window: int = WINDOW_SECONDS, limit: int = SCAN_LIMIT) -> list[Reformulation]:
    """Pairs whose clicked search was made in [since, before) (ISO times or dates), most
    frequent first, dismissed ones left out. `window`: seconds between the two searches; the
    kept one is read from the reformulations table, any other from the log (`scanned`)."""
    if window != WINDOW_SECONDS:
        return await scanned(db, since, before, lang, window=window, limit=limit)
    in_lang = "AND r.lang = ?4" if lang else ""
    rows = await db.fetch_all(
        f"""WITH p AS (
            SELECT r.lang, r.first_query AS first, r.second_query AS second, count(*) AS n,
                   sum(CASE WHEN r.prev_at IS NULL OR r.prev_at < ?1 THEN 1 ELSE 0 END) AS visitors
            FROM reformulations r
            WHERE r.clicked_at >= ?1 AND r.clicked_at < ?2 {in_lang}
            GROUP BY r.lang, r.first_query, r.second_query)
        SELECT lang, first, second, n, visitors FROM p
        WHERE {_NOT_DISMISSED}
        ORDER BY n DESC, visitors DESC, first, second, lang
        LIMIT ?3""",
        [since, before, limit, *([lang] if lang else [])])
    return [Reformulation(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows]


async def scanned(db: Database, since: str, before: str, lang: str | None, *, window: int,
                  limit: int = SCAN_LIMIT) -> list[Reformulation]:
    """`reformulations` read from the raw log at report time: one index probe per opened search
    of the period (4.9 s at 330,000 searches in 30 days). The definition the table is kept to."""
    d = db.dialect
    in_lang = "AND s.lang = ?4" if lang else ""
    rows = await db.fetch_all(
        f"""WITH clicked AS MATERIALIZED (
            SELECT s.id, s.query, s.lang, s.visitor, s.created_at FROM searches s
            WHERE s.created_at >= ?1 AND s.created_at < ?2 {in_lang}
              AND EXISTS (SELECT 1 FROM search_clicks k WHERE k.search_id = s.id)),
        pairs AS (
            SELECT f.lang, f.query AS first, c.query AS second, c.id AS clicked_id, c.visitor
            FROM clicked c JOIN searches f
              ON f.visitor = c.visitor AND f.lang = c.lang
             AND f.created_at >= {d.seconds_before("c.created_at", window)} AND f.created_at <= c.created_at
             AND (f.created_at, f.id) < (c.created_at, c.id)
            WHERE (f.results = 0 OR NOT EXISTS (SELECT 1 FROM search_clicks k WHERE k.search_id = f.id))
              AND substr(c.query, 1, length(f.query)) <> f.query
              AND substr(f.query, 1, length(c.query)) <> c.query
              AND NOT EXISTS (
                SELECT 1 FROM searches t
                WHERE t.visitor = f.visitor AND t.lang = f.lang
                  AND t.created_at >= {d.seconds_before("f.created_at", window)} AND t.created_at <= c.created_at
                  AND length(t.query) > length(f.query) AND substr(t.query, 1, length(f.query)) = f.query)
              AND NOT EXISTS (
                SELECT 1 FROM searches e
                WHERE e.visitor = f.visitor AND e.lang = f.lang
                  AND e.created_at >= f.created_at AND e.created_at <= c.created_at
                  AND (e.created_at, e.id) > (f.created_at, f.id) AND (e.created_at, e.id) < (c.created_at, c.id)
                  AND EXISTS (SELECT 1 FROM search_clicks k WHERE k.search_id = e.id)))
        SELECT lang, first, second, count(DISTINCT clicked_id) AS n, count(DISTINCT visitor) AS visitors
        FROM pairs p
        WHERE {_NOT_DISMISSED}
        GROUP BY lang, first, second
        ORDER BY n DESC, visitors DESC, first, second, lang
        LIMIT ?3""",
        [since, before, limit, *([lang] if lang else [])])
    return [Reformulation(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows]


def dismiss(lang: str, first: str, second: str, by: str) -> WriteOp[None]:
    """Hide the candidate (first, second) of `lang`, and its reverse, from now on."""

    async def op(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO synonym_dismissals (lang, first_query, second_query, dismissed_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (lang, first, second, by))

    return op
