""""Was this article helpful?": validating, casting and changing votes, tallies, rankings.

One vote per visitor per article and language: voting again replaces the vote. Visitors are
known only by the keyed hash of their anonymous cookie id (kb.web.security.visitor_hash). Every
vote is written through the database's single writer, which answers only once the vote is
committed, so a caller that got an answer can promise the vote is on disk.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kb.content.model import Article
from kb.content.site import Site
from kb.errors import TooManyRequests, ValidationFailed
from kb.i18n import N_
from kb.storage import ratelimits, votes
from kb.storage.db import Database, DatabaseUnavailable
from kb.storage.votes import TallyRow as Tally
from kb.storage.votes import VoteRow as Vote

__all__ = ["MAX_COMMENT", "REASONS", "Cast", "Choice", "Feedback", "Panel", "Tally", "Vote",
           "clean_text", "parse_vote", "wilson_lower_bound"]

# Why a reader answered No. Keys are stored; labels are translated where they are shown.
REASONS: dict[str, str] = {
    "didnt_answer": N_("It didn't answer my question"),
    "hard_to_understand": N_("It's hard to understand"),
    "incorrect": N_("It's incorrect or out of date"),
    "missing_steps": N_("Steps or information are missing"),
    "other": N_("Other"),
}
MAX_COMMENT = 2000
RATE_WINDOW_SECONDS = 60.0
# "Most helpful" ranks by the lower bound of the 95% Wilson interval of the share of Yes votes:
# 9 of 10 outranks 1 of 1, and an article needs a few votes before it can appear at all.
MOST_HELPFUL_MIN_VOTES = 3
WILSON_Z = 1.96  # two-sided 95%
MAX_GROUP = 200  # votes written together (3 SQL parameters each, well under SQLite's limit)

_FIELDS = ("helpful", "reason", "comment")
# Bidirectional embeddings/overrides/isolates can make a comment display as something else.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Choice:
    """A validated vote as submitted: helpful, and for a No the optional reason and comment."""

    helpful: bool
    reason: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Cast:
    vote: Vote
    tally: Tally
    created: bool  # False when the visitor's earlier vote was replaced


@dataclass(frozen=True)
class Panel:
    """What one feedback region shows a visitor: their vote, and the tally when counts are on."""

    vote: Vote | None
    tally: Tally | None


def clean_text(text: str) -> str:
    """Plain text safe to store: no control characters (newlines and tabs kept), no lone
    surrogates, no bidi overrides; NFC-normalised and trimmed. Escaping happens on display."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = (ch for ch in text
            if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return _BIDI.sub("", "".join(kept)).strip()


def parse_vote(data: Any) -> Choice:
    """Validate a submitted vote (a decoded JSON object or form fields); collect every problem."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("the body must be a JSON object",
                               details={"body": "expected an object with helpful, reason, comment"})
    problems: dict[str, str] = {}
    for name in data:
        if name not in _FIELDS:
            problems[str(name)[:50]] = "unknown field"
    helpful = data.get("helpful")
    if "helpful" not in data:
        problems["helpful"] = "required: true or false"
    elif not isinstance(helpful, bool):
        problems["helpful"] = "must be true or false"
    reason = data.get("reason")
    if reason is not None:
        if not isinstance(reason, str) or reason not in REASONS:
            problems["reason"] = f"must be one of {', '.join(REASONS)}, or null"
        elif helpful is True:
            problems["reason"] = "only a vote that found the article unhelpful has a reason"
    comment = data.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            problems["comment"] = "must be a string or null"
        else:
            comment = clean_text(comment) or None
            if comment is not None and len(comment) > MAX_COMMENT:
                problems["comment"] = f"must be at most {MAX_COMMENT} characters (got {len(comment)})"
            elif comment is not None and helpful is True:
                problems["comment"] = "only a vote that found the article unhelpful has a comment"
    if problems:
        raise ValidationFailed("the vote is not valid", details=problems)
    assert isinstance(helpful, bool)
    return Choice(helpful, reason, comment)


def wilson_lower_bound(yes: int, total: int) -> float | None:
    """Lower bound of the 95% Wilson score interval of the share of Yes votes: the helpful rate
    we are 95% sure of, so 9 of 10 outranks 1 of 1. The one definition, used by the home page's
    ranking and by the analytics reports; None without votes (no rate, not a rate of 0)."""
    if total <= 0:
        return None
    share = yes / total
    z2 = WILSON_Z * WILSON_Z
    centre = share + z2 / (2 * total)
    margin = WILSON_Z * math.sqrt(share * (1 - share) / total + z2 / (4 * total * total))
    # Clamped: for 0 Yes votes, rounding can leave -1e-17 where the bound is exactly 0.
    return max(0.0, (centre - margin) / (1 + z2 / total))


def _own_copy(exc: Exception) -> Exception:
    """A 503 for each waiting caller (one instance raised in many requests would chain their
    tracebacks); other errors are bugs, passed on as they are."""
    if isinstance(exc, DatabaseUnavailable):
        return DatabaseUnavailable(exc.message, retry_after=exc.retry_after)
    return exc


def _rate_keys(visitor: str, address: str | None) -> list[str]:
    return [f"visitor:{visitor}"] + ([f"address:{address}"] if address else [])


def _too_many(wait: int) -> TooManyRequests:
    return TooManyRequests(f"Too many votes in a short time; try again in {wait} seconds.", retry_after=wait)


def _new_vote(article: Article, visitor: str, choice: Choice, counted: bool) -> votes.NewVote:
    return votes.NewVote(article.id, article.lang, article.slug, visitor, choice.helpful,
                         choice.reason, choice.comment, article.revision, counted)


_Queued = tuple[votes.NewVote, list[str] | None, asyncio.Future[Cast]]


def _fail(group: list[_Queued], exc: Exception) -> None:
    for _, _, future in group:
        if not future.done():
            future.set_exception(_own_copy(exc))


def _settle(group: list[_Queued], stored: Mapping[tuple[str, str, int], Vote],
            tallies: Mapping[tuple[int, str], Tally], refused: Mapping[tuple[str, str, int], float]) -> None:
    """Answer each waiting caller of a committed group: its vote and tally, or a 429."""
    for new, _, future in group:
        if future.done():  # the client may have gone away meanwhile
            continue
        if new.key in refused:
            future.set_exception(_too_many(ratelimits.seconds_to_wait(refused[new.key])))
            continue
        vote = stored[new.key]
        tally = tallies.get((new.article_id, new.lang), Tally(0, 0))
        future.set_result(Cast(vote, tally, created=vote.changes == 0))


class Feedback:
    """The feedback use cases, shared by the HTML form, the JSON API and the page routes."""

    def __init__(self, site: Site, db: Database, *, rate_limit: int, show_counts: bool) -> None:
        self.site = site
        self.db = db
        self.show_counts = show_counts
        self.limiter = ratelimits.limiter_for(db, "votes", rate_limit, RATE_WINDOW_SECONDS)
        # Each queued vote with its shared rate-limit keys (None: not limited, or limited already).
        self._pending: deque[_Queued] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._answering: set[asyncio.Task[None]] = set()

    async def check_rate(self, visitor: str, address: str | None) -> None:
        """Count one vote for the visitor and the client address (shared by every node on
        PostgreSQL, in memory on SQLite: kb.storage.ratelimits)."""
        wait = await ratelimits.hit(self.limiter, *_rate_keys(visitor, address))
        if wait:
            raise _too_many(wait)

    async def vote(self, article: Article, visitor: str, address: str | None, choice: Choice, *,
                   counted: bool = True) -> Cast:
        """A vote from the web: rate-limited per visitor and per client address (429), then cast.

        With limits shared through PostgreSQL the hit is made in the vote's own transaction, by
        the same call that writes its group (kb.storage.votes.cast_many): no round trip of its own.
        """
        if isinstance(self.limiter, ratelimits.SharedRateLimiter):
            return await self._queue(_new_vote(article, visitor, choice, counted),
                                     self.limiter.keys(*_rate_keys(visitor, address)))
        await self.check_rate(visitor, address)
        return await self.cast(article, visitor, choice, counted=counted)

    async def cast(self, article: Article, visitor: str, choice: Choice, *, counted: bool = True) -> Cast:
        """Record (or replace) the visitor's vote; returns once it is committed to disk.

        `counted=False` (a crawler or a script, see kb.analytics.visitors.is_bot) stores the
        vote, so the visitor sees it and can change it, but leaves every tally and report as it was.

        Votes that arrive while a group is being written wait for the next group, which is
        written as one op of the database writer (one statement for the whole group).
        """
        return await self._queue(_new_vote(article, visitor, choice, counted), None)

    async def _queue(self, new: votes.NewVote, rate_keys: list[str] | None) -> Cast:
        future: asyncio.Future[Cast] = asyncio.get_running_loop().create_future()
        self._pending.append((new, rate_keys, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="kb-feedback-votes")
        return await future

    async def _flush(self) -> None:
        while self._pending:
            group: list[_Queued] = []
            keys: set[tuple[str, str, int]] = set()
            # A visitor's second vote on the same article waits for the next group, so each
            # answer reports exactly its own vote.
            while self._pending and len(group) < MAX_GROUP and self._pending[0][0].key not in keys:
                keys.add(self._pending[0][0].key)
                group.append(self._pending.popleft())
            if self.db.dialect.name == "postgresql":
                await self._cast_in_one_call(group)
            else:
                await self._upsert(group)

    async def _cast_in_one_call(self, group: list[_Queued]) -> None:
        """PostgreSQL: the group's rate-limit hits, votes and tallies in one call of the
        writer's transaction (kb_cast_votes); nothing is read after the commit."""
        shared = self.limiter if isinstance(self.limiter, ratelimits.SharedRateLimiter) else None
        cast_all = functools.partial(
            votes.cast_many, new=[new for new, _, _ in group],
            rate_keys=[limited or [] for _, limited, _ in group],
            limit=shared.limit if shared else 0, window_seconds=shared.window if shared else 0.0)
        try:
            outcome = await self.db.write(cast_all)
        except Exception as exc:  # noqa: BLE001 - the group failed: each caller gets the error
            _fail(group, exc)
            return
        _settle(group, outcome.stored, outcome.tallies, outcome.refused)

    async def _upsert(self, group: list[_Queued]) -> None:
        """SQLite: one statement for the group; the tallies are read once committed, by a
        reader, while the next group is written."""
        write = functools.partial(votes.upsert_many, new=[new for new, _, _ in group])
        try:
            stored = await self.db.write(write)
        except Exception as exc:  # noqa: BLE001 - the group failed: each caller gets the error
            _fail(group, exc)
            return
        answer = asyncio.create_task(self._answer(group, stored))
        self._answering.add(answer)
        answer.add_done_callback(self._answering.discard)

    async def _answer(self, group: list[_Queued],
                      stored: dict[tuple[str, str, int], Vote]) -> None:
        try:
            counts = await votes.tallies_of(self.db, {(new.article_id, new.lang) for new, _, _ in group})
        except Exception as exc:  # noqa: BLE001 - committed, yet no answer: each caller gets the error
            for _, _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        _settle(group, stored, counts, {})

    async def tally(self, article: Article) -> Tally:
        return await votes.tally(self.db, article.id, article.lang)

    async def vote_of(self, visitor: str, article: Article) -> Vote | None:
        found = await votes.votes_of(self.db, visitor, article.lang, [article.id])
        return found.get(article.id)

    async def panels(self, visitor: str, articles: Iterable[Article]) -> dict[tuple[str, str], Panel]:
        """For the page routes: each article's panel by (lang, slug), in one query per language."""
        by_lang: dict[str, list[Article]] = {}
        for article in articles:
            by_lang.setdefault(article.lang, []).append(article)
        panels: dict[tuple[str, str], Panel] = {}
        for lang, group in by_lang.items():
            ids = [a.id for a in group]
            mine = await votes.votes_of(self.db, visitor, lang, ids)
            counts = await votes.tallies(self.db, lang, ids) if self.show_counts else {}
            for article in group:
                tally = counts.get(article.id, Tally(0, 0)) if self.show_counts else None
                panels[article.key] = Panel(mine.get(article.id), tally)
        return panels

    async def most_helpful(self, lang: str, limit: int) -> list[Article]:
        """Published articles of `lang` ranked by the Wilson lower bound of their Yes share."""
        counts = await votes.tallies_with_votes(self.db, lang, MOST_HELPFUL_MIN_VOTES)
        published = {a.id: a for a in self.site.published(lang)}
        ranked = []
        for article_id, tally in counts.items():
            article = published.get(article_id)
            if article is not None and tally.yes > 0:
                score = wilson_lower_bound(tally.yes, tally.total) or 0.0  # never None: total >= 3
                ranked.append((-score, -tally.total, article.title.lower(), article))
        ranked.sort(key=lambda entry: entry[:3])
        return [entry[3] for entry in ranked[:limit]]
