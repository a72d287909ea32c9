"""SQL of content health (kb.health): when articles changed or were reviewed, their votes over
two windows, "incorrect" reports, and the policy versions' changed keys. Reads only; a "mark
reviewed" is a revision (kb.storage.revisions.record) with action 'reviewed'.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.storage.db import Database

# Actions that describe a new text of the file (drafts and review requests leave it as it was;
# 'reviewed' confirms it as it is).
NOT_A_CHANGE = ("draft", "review", "reviewed")
_NOT_A_CHANGE_SQL = "('draft', 'review', 'reviewed')"


@dataclass(frozen=True)
class Times:
    revised: str | None  # the newest revision that changed the file
    reviewed: str | None  # the newest "mark reviewed"


@dataclass(frozen=True)
class VoteWindows:
    yes: int
    no: int
    previous_yes: int
    previous_no: int


@dataclass(frozen=True)
class PolicyChange:
    accepted_at: str
    changed_keys: tuple[str, ...]


async def article_times(db: Database) -> dict[tuple[str, int], Times]:
    """(lang, article_id) -> when it last changed and was last reviewed (the covering index of 0008)."""
    rows = await db.fetch_all(
        f"SELECT lang, article_id, MAX(CASE WHEN action NOT IN {_NOT_A_CHANGE_SQL} THEN created_at END), "
        "MAX(CASE WHEN action = 'reviewed' THEN created_at END) FROM revisions GROUP BY lang, article_id")
    return {(str(r[0]), int(r[1])): Times(r[2], r[3]) for r in rows}


async def vote_windows(db: Database, previous_start: str, start: str, until: str) -> dict[tuple[str, int], VoteWindows]:
    """Yes and No votes per article in [start, until] and in [previous_start, start) (ISO days)."""
    rows = await db.fetch_all(
        "SELECT lang, article_id, SUM(CASE WHEN day >= ? THEN yes ELSE 0 END), "
        "SUM(CASE WHEN day >= ? THEN no ELSE 0 END), SUM(CASE WHEN day < ? THEN yes ELSE 0 END), "
        "SUM(CASE WHEN day < ? THEN no ELSE 0 END) FROM article_daily WHERE day BETWEEN ? AND ? "
        "GROUP BY lang, article_id HAVING SUM(yes) + SUM(no) > 0",
        (start, start, start, start, previous_start, until))
    return {(str(r[0]), int(r[1])): VoteWindows(int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows}


async def incorrect_by_day(db: Database, since_day: str) -> list[tuple[str, int, str, int]]:
    """(lang, article_id, day, count) of "incorrect or out of date" reasons from since_day on."""
    rows = await db.fetch_all(
        "SELECT lang, article_id, day, n FROM vote_reasons WHERE reason = 'incorrect' AND day >= ? AND n > 0",
        (since_day,))
    return [(str(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]


async def incorrect_since(db: Database, lang: str, article_id: int, since: str) -> tuple[int, str | None]:
    """The counted "incorrect" votes of one article cast (or changed to it) after `since`, and the
    first one's time (through the votes_article index)."""
    row = await db.fetch_one(
        "SELECT COUNT(*), MIN(updated_at) FROM votes WHERE article_id = ? AND lang = ? AND updated_at > ? "
        "AND helpful = 0 AND reason = 'incorrect' AND counted = 1", (article_id, lang, since))
    return (int(row[0]), row[1]) if row is not None else (0, None)


async def policy_changes(db: Database) -> list[PolicyChange]:
    """Every accepted policy version after the first (the first is no change), oldest first."""
    rows = await db.fetch_all(
        "SELECT accepted_at, changed_keys FROM policy_versions "
        "WHERE id > (SELECT MIN(id) FROM policy_versions) ORDER BY id")
    return [PolicyChange(str(r[0]), tuple(k for k in str(r[1]).split(",") if k)) for r in rows]


async def file_revisions(db: Database, lang: str, article_id: int) -> list[tuple[int, str]]:
    """(id, created_at) of the revisions that changed an article's file, oldest first."""
    rows = await db.fetch_all(
        f"SELECT id, created_at FROM revisions WHERE lang = ? AND article_id = ? "
        f"AND action NOT IN {_NOT_A_CHANGE_SQL} ORDER BY id", (lang, article_id))
    return [(int(r[0]), str(r[1])) for r in rows]


async def article_times_of(db: Database, lang: str, article_id: int) -> Times:
    """One article's Times (article_times, for one)."""
    row = await db.fetch_one(
        f"SELECT MAX(CASE WHEN action NOT IN {_NOT_A_CHANGE_SQL} THEN created_at END), "
        "MAX(CASE WHEN action = 'reviewed' THEN created_at END) FROM revisions WHERE lang = ? AND article_id = ?",
        (lang, article_id))
    return Times(row[0], row[1]) if row is not None else Times(None, None)
