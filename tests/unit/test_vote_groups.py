"""Votes on PostgreSQL: a group's rate-limit hits, votes and tallies in one call (kb_cast_votes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kb.errors import TooManyRequests
from kb.feedback import Cast, Choice
from kb.storage import votes
from kb.storage.postgres import PGConn, connect
from tests.conftest import MakeClient, database_for, services_of

database_url = pytest.fixture(params=["postgresql"])(database_for)


def test_votes_written_together_count_against_the_limit_one_after_another(
        make_client: MakeClient, sample_tree: Path) -> None:
    client = make_client(sample_tree, vote_rate_limit=5)
    svc = services_of(client)
    article = svc.site.article("en", "support-code-and-vip-code")

    async def twelve_at_once() -> list[Any]:
        # One loop turn: the twelve votes wait for the same group, one call of the writer's batch.
        return await asyncio.gather(*(svc.feedback.vote(article, f"visitor-{n}", "10.0.0.9", Choice(n % 3 != 0))
                                      for n in range(12)), return_exceptions=True)

    answers = client.portal.call(twelve_at_once)
    cast = [answer for answer in answers if isinstance(answer, Cast)]
    refused = [answer for answer in answers if isinstance(answer, TooManyRequests)]
    assert len(cast) == 5 and len(refused) == 7  # the address's limit, whatever the visitors
    assert answers[:5] == cast  # in the order they came
    assert all(1 <= answer.retry_after <= 60 for answer in refused)
    assert all(answer.created and answer.tally.total == 5 for answer in cast)  # read after all five
    stored = client.portal.call(votes.tally, svc.db, article.id, article.lang)
    assert stored.total == 5 and stored.yes == sum(answer.vote.helpful for answer in cast)
    again = client.portal.call(svc.feedback.vote, article, "visitor-1", "10.0.0.10", Choice(False))  # was Yes
    assert not again.created and again.tally == votes.TallyRow(stored.yes - 1, stored.no + 1)


async def test_two_nodes_writing_the_same_articles_in_opposite_orders_do_not_deadlock(database_url: str) -> None:
    # Node A holds article 1's tally in its open transaction; node B's group names article 2
    # first, then 1. Written in the order given, B would hold 2 while waiting for 1, and A's next
    # vote on 2 would close the cycle: after deadlock_timeout (1 s) the server aborts one of them.
    a, b, watch = await connect(database_url), await connect(database_url), await connect(database_url)

    def vote(article_id: int, visitor: str) -> votes.NewVote:
        return votes.NewVote(article_id, "en", f"article-{article_id}", visitor, True, None, None, "r1")

    try:
        await a.execute("BEGIN")
        await votes.cast_many(PGConn(a), [vote(1, "a1")], [[]], 0, 0.0)
        await b.execute("BEGIN")
        b_group = asyncio.create_task(votes.cast_many(PGConn(b), [vote(2, "b2"), vote(1, "b1")], [[], []], 0, 0.0))
        for _ in range(500):  # until B waits for A's lock
            waiting = await (await watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )).fetchone()
            if waiting and waiting[0]:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("node B never waited for node A")
        await votes.cast_many(PGConn(a), [vote(2, "a2")], [[]], 0, 0.0)  # B holds nothing yet
        await a.execute("COMMIT")
        outcome = await asyncio.wait_for(b_group, timeout=30)
        await b.execute("COMMIT")
        assert outcome.tallies == {(1, "en"): votes.TallyRow(2, 0), (2, "en"): votes.TallyRow(2, 0)}
    finally:
        for conn in (a, b, watch):
            await conn.close()
