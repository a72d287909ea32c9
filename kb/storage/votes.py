"""SQL of the feedback area: the votes table (0002_votes.sql) and its trigger-kept tallies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kb.storage.db import Conn, Database, Row


@dataclass(frozen=True)
class VoteRow:
    article_id: int
    lang: str
    helpful: bool
    reason: str | None
    comment: str | None
    revision: str
    created_at: str
    updated_at: str
    changes: int


@dataclass(frozen=True)
class TallyRow:
    yes: int
    no: int

    @property
    def total(self) -> int:
        return self.yes + self.no


_COLUMNS = "article_id, lang, helpful, reason, comment, revision, created_at, updated_at, changes"

_ON_CONFLICT = """
ON CONFLICT (visitor, lang, article_id) DO UPDATE SET
    slug = excluded.slug, helpful = excluded.helpful, reason = excluded.reason,
    comment = excluded.comment, revision = excluded.revision, counted = excluded.counted,
    updated_at = {now}, changes = votes.changes + 1
"""

_TALLY = "SELECT yes, no FROM vote_tallies WHERE article_id = ? AND lang = ?"


@dataclass(frozen=True)
class NewVote:
    article_id: int
    lang: str
    slug: str
    visitor: str
    helpful: bool
    reason: str | None
    comment: str | None
    revision: str
    # False for a crawler's or a script's vote: stored, but no tally or report counts it
    # (0007_honest_counts.sql), like their page views.
    counted: bool = True

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.visitor, self.lang, self.article_id)


def _vote(row: Row | tuple[Any, ...]) -> VoteRow:
    return VoteRow(article_id=int(row[0]), lang=str(row[1]), helpful=bool(row[2]), reason=row[3],
                   comment=row[4], revision=str(row[5]), created_at=str(row[6]),
                   updated_at=str(row[7]), changes=int(row[8]))


async def upsert_many(conn: Conn, new: list[NewVote]) -> dict[tuple[str, str, int], VoteRow]:
    """Insert or replace many visitors' votes (distinct keys) in one statement; return each
    stored vote keyed by (visitor, lang, article id).

    Runs inside the writer's transaction. Each statement is a round trip to the connection's
    thread, which is what a vote costs most, so a whole group is one statement.
    """
    values = ",".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in new)
    params = [part for v in new for part in (v.article_id, v.lang, v.slug, v.visitor, int(v.helpful),
                                             v.reason, v.comment, v.revision, int(v.counted))]
    rows = await conn.fetch_all(
        f"INSERT INTO votes (article_id, lang, slug, visitor, helpful, reason, comment, revision, counted) "
        f"VALUES {values} {_ON_CONFLICT.format(now=conn.dialect.now)} RETURNING visitor, {_COLUMNS}", params)
    return {(str(row[0]), str(row[2]), int(row[1])): _vote(tuple(row)[1:]) for row in rows}


@dataclass(frozen=True)
class Outcome:
    """What cast_many did with a group: the votes stored, the tallies they left (read in the
    same transaction), and the seconds to wait of each vote the rate limit refused."""

    stored: dict[tuple[str, str, int], VoteRow]
    tallies: dict[tuple[int, str], TallyRow]
    refused: dict[tuple[str, str, int], float]


async def cast_many(conn: Conn, new: list[NewVote], rate_keys: list[list[str]], limit: int,
                    window_seconds: float) -> Outcome:
    """PostgreSQL: a group of votes (distinct keys) in one call of kb_cast_votes (0012): each
    vote's shared rate-limit keys (`rate_keys[i]`, none for an unlimited vote) hit in order,
    the admitted votes upserted, the group's tallies read, all in the writer's transaction."""
    keys = [(key, index) for index, vote_keys in enumerate(rate_keys, 1) for key in vote_keys]
    rows = await conn.fetch_all(
        "SELECT * FROM kb_cast_votes(?::bigint[], ?::text[], ?::text[], ?::text[], ?::integer[], ?::text[], "
        "?::text[], ?::text[], ?::integer[], ?::text[], ?::integer[], ?, ?)",
        ([v.article_id for v in new], [v.lang for v in new], [v.slug for v in new], [v.visitor for v in new],
         [int(v.helpful) for v in new], [v.reason for v in new], [v.comment for v in new],
         [v.revision for v in new], [int(v.counted) for v in new], [key for key, _ in keys],
         [index for _, index in keys], limit, float(window_seconds)))
    outcome = Outcome({}, {}, {})
    for row in rows:
        if row[0] == "vote":
            outcome.stored[(str(row[5]), str(row[4]), int(row[3]))] = _vote(
                (row[3], row[4], row[6], row[7], row[8], row[9], row[10], row[11], row[12]))
        elif row[0] == "tally":
            outcome.tallies[(int(row[3]), str(row[4]))] = TallyRow(int(row[13]), int(row[14]))
        else:
            outcome.refused[new[int(row[1]) - 1].key] = float(row[2])
    return outcome


async def tallies_of(db: Database, articles: Iterable[tuple[int, str]]) -> dict[tuple[int, str], TallyRow]:
    """The tallies of (article id, lang) pairs, any languages mixed."""
    keys = sorted(set(articles))
    if not keys:
        return {}
    # A CTE of the keys joined to the table: SQLite looks each one up by primary key (a
    # row-value IN (VALUES ...) would scan the table).
    rows = await db.fetch_all(
        f"WITH k (article_id, lang) AS (VALUES {','.join('(?, ?)' for _ in keys)}) "
        f"SELECT t.article_id, t.lang, t.yes, t.no FROM k {db.dialect.ordered_join} vote_tallies AS t "
        f"ON t.article_id = k.article_id AND t.lang = k.lang",
        [part for key in keys for part in key])
    return {(int(r[0]), str(r[1])): TallyRow(int(r[2]), int(r[3])) for r in rows}


async def tally(db: Database, article_id: int, lang: str) -> TallyRow:
    row = await db.fetch_one(_TALLY, (article_id, lang))
    return TallyRow(int(row[0]), int(row[1])) if row else TallyRow(0, 0)


async def tallies(db: Database, lang: str, article_ids: Iterable[int]) -> dict[int, TallyRow]:
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetch_all(
        f"SELECT article_id, yes, no FROM vote_tallies WHERE lang = ? AND article_id IN ({marks})",
        (lang, *ids))
    return {int(r[0]): TallyRow(int(r[1]), int(r[2])) for r in rows}


async def votes_of(db: Database, visitor: str, lang: str, article_ids: Iterable[int]) -> dict[int, VoteRow]:
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM votes WHERE visitor = ? AND lang = ? AND article_id IN ({marks})",
        (visitor, lang, *ids))
    return {vote.article_id: vote for vote in map(_vote, rows)}


async def tallies_with_votes(db: Database, lang: str, minimum: int) -> dict[int, TallyRow]:
    """Every article of `lang` with at least `minimum` votes (for ranking)."""
    rows = await db.fetch_all(
        "SELECT article_id, yes, no FROM vote_tallies WHERE lang = ? AND yes + no >= ?", (lang, minimum))
    return {int(r[0]): TallyRow(int(r[1]), int(r[2])) for r in rows}
