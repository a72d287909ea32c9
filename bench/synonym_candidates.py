"""Time the synonym-candidate query (kb.storage.reformulations) on a large search log.

    python bench/synonym_candidates.py [--searches 1000000] [--days 30] [--out bench/out/candidates]

Writes a search log into a fresh kb SQLite database (the app's migrations; rows with sqlite3
executemany): visitors make sessions of 1 to 6 searches a few seconds to minutes apart, 8% of
queries find nothing, 45% of searches with results get a click, and about a tenth of sessions
reformulate (a failed query, then a word of a known pair whose result is opened). Then the
dashboard's query (30 days, every language) runs three times; the median is printed next to the
dashboard's goal. The analytics dashboard runs it on every load (it is not cached, so that an
accepted or dismissed candidate leaves at once).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kb.analytics.candidates import WINDOW_MINUTES
from kb.storage.db import Database
from kb.storage.reformulations import reformulations

GOAL_SECONDS = 1.0  # the dashboard's goal (README, Analytics: Scale)
LANGS = ("en", "pt", "fr")
WORDS = ("refund", "invoice", "password", "reset", "premium", "support", "code", "vip", "cancel", "order",
         "shipping", "return", "device", "app", "login", "account", "billing", "card", "payment", "delivery")
PAIRS = [("chargeback", "refund"), ("cheaper plan", "downgrade"), ("sign in", "login"), ("bill", "invoice"),
         ("money back", "refund"), ("pin", "password"), ("parcel", "delivery"), ("unsubscribe", "cancel")]


def sessions(n: int, since: datetime, days: int, rng: random.Random) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """(search row, opened) for about `n` searches."""
    made = 0
    search_id = 0
    span = days * 86_400
    while made < n:
        visitor = f"{rng.getrandbits(128):032x}"
        lang = rng.choice(LANGS)
        at = since + timedelta(seconds=rng.uniform(0, span))
        if rng.random() < 0.1:
            first, second = rng.choice(PAIRS)
            steps = [(first, 0, False), (second, rng.randrange(1, 30), True)]
        else:
            steps = []
            for _ in range(rng.choice((1, 1, 2, 3, 4, 6))):
                query = " ".join(rng.choices(WORDS, k=rng.choice((1, 2, 2, 3))))
                results = 0 if rng.random() < 0.08 else rng.randrange(1, 40)
                steps.append((query, results, results > 0 and rng.random() < 0.45))
        for query, results, opened in steps:
            search_id += 1
            made += 1
            stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            yield (search_id, query, lang, results, 1.0, visitor, stamp), opened
            at += timedelta(seconds=rng.uniform(3, 200))


async def migrate(path: Path) -> None:
    db = Database(path)
    await db.open()
    await db.close()


async def measure(path: Path, since: str, before: str) -> tuple[list[float], int]:
    db = Database(path)
    await db.open()
    try:
        timings = []
        found = []
        for _ in range(3):
            started = time.perf_counter()
            found = await reformulations(db, since, before, None, window=WINDOW_MINUTES * 60)
            timings.append(time.perf_counter() - started)
        return timings, len(found)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("bench/out/candidates"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    path = args.out / "kb.sqlite3"
    asyncio.run(migrate(path))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=args.days - 1)
    rng = random.Random(13)
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    clicks = []
    rows = []
    for row, opened in sessions(args.searches, since, args.days, rng):
        rows.append(row)
        if opened:
            clicks.append((row[0], row[1], row[2], 7, 1, row[5], row[6]))
        if len(rows) >= 50_000:
            with conn:
                conn.executemany("INSERT INTO searches (id, query, lang, results, took_ms, visitor, created_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            rows = []
    with conn:
        conn.executemany("INSERT INTO searches (id, query, lang, results, took_ms, visitor, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", clicks)
        conn.execute("ANALYZE")
    conn.close()
    print(f"wrote {args.searches:,} searches and {len(clicks):,} clicks over {args.days} days "
          f"in {time.perf_counter() - started:.0f} s")
    until = (today + timedelta(days=1)).date().isoformat()
    timings, count = asyncio.run(measure(path, since.date().isoformat(), until))
    median = statistics.median(timings)
    print(f"candidate query, {args.days} days, every language: {median:.2f} s median of 3 "
          f"({', '.join(f'{t:.2f}' for t in timings)}; {count} pairs)   goal: <= {GOAL_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
