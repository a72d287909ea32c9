"""Generate a large analytics data set: a content tree, then votes, page views and searches
written straight into a kb database with sqlite3 executemany (the app's migrations and
triggers included, so the daily aggregates are built exactly as in production).

    python bench/analytics_data.py [--out bench/out/analytics] [--votes 1000000]
                                   [--views 5000000] [--searches 1000000] [--articles 400]

Defaults are the sizes of the analytics issue. Rows are spread over --days days (ending today,
UTC) with Zipf-like popularity; ~3% of votes were changed by their visitor (an UPDATE, so the
update triggers run too); a third of the articles were edited half-way (new revision).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from kb.content.files import file_revision
from kb.storage.db import Database

LANGS = ("en", "pt", "fr")
CATEGORIES = ["billing", "refunds", "accounts", "security", "premium-support", "shipping", "returns",
              "orders", "devices", "apps"]
TYPES = ("faq", "faq", "faq", "tutorial", "video")
REASONS = ("didnt_answer", "hard_to_understand", "incorrect", "missing_steps", "other")
WORDS = ("refund", "invoice", "password", "reset", "premium", "support", "code", "vip", "cancel", "order",
         "shipping", "return", "device", "app", "login", "account", "billing", "card", "payment", "delivery",
         "tracking", "address", "email", "phone", "upgrade", "downgrade", "plan", "price", "discount", "gift")
CHUNK = 50_000


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (rank ** s) for rank in range(1, n + 1)]


def write_content(root: Path, articles: int, rng: random.Random) -> dict[tuple[int, str], tuple[str, str]]:
    """articles ids x 3 languages; returns (id, lang) -> (slug, revision)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    categories = {key: {"order": i, "parent": "billing" if key == "refunds" else None,
                        "title": {lang: key.replace("-", " ").title() for lang in LANGS}}
                  for i, key in enumerate(CATEGORIES)}
    (root / "categories.yaml").write_text(yaml.safe_dump(categories), encoding="utf-8")
    found = {}
    for article_id in range(1, articles + 1):
        category = CATEGORIES[article_id % len(CATEGORIES)]
        kind = TYPES[article_id % len(TYPES)]
        for lang in LANGS:
            slug = f"article-{article_id}-{lang}"
            meta: dict[str, Any] = {
                "id": article_id, "title": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} question {article_id}",
                "summary": f"Summary of article {article_id}.", "category": category,
                "tags": [rng.choice(WORDS)], "type": kind, "status": "published",
                "updated": (datetime.now(UTC).date() - timedelta(days=rng.randrange(400))).isoformat(),
            }
            if kind == "video":
                meta["video"] = "https://media.example.com/clip.mp4"
            text = "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + f"Answer number {article_id}.\n"
            path = root / lang / category / f"{slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            found[(article_id, lang)] = (slug, file_revision(text.encode("utf-8")))
    return found


def stamps(n: int, day0: datetime, days: int, rng: random.Random) -> Iterator[str]:
    """n random times in the window, in time order (as rows arrive in production, which keeps
    the time indexes and the daily aggregates append-mostly)."""
    start = day0.timestamp()
    for offset in sorted(rng.randrange(days * 86400) for _ in range(n)):
        yield datetime.fromtimestamp(start + offset, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def votes(n: int, keys: list[tuple[int, str]], meta: dict[tuple[int, str], tuple[str, str]], day0: datetime,
          days: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    weights = zipf_weights(len(keys), 0.9)
    picks = rng.choices(range(len(keys)), weights=weights, k=n)
    base = {key: 0.35 + 0.6 * rng.random() for key in keys}
    for i, (pick, at) in enumerate(zip(picks, stamps(n, day0, days, rng), strict=True)):
        key = keys[pick]
        slug, revision = meta[key]
        # Edited articles: votes in the first half of the window were cast on the old text.
        edited = key[0] % 3 == 0
        old = edited and at < (day0 + timedelta(days=days // 2)).isoformat()
        rate = base[key] - (0.2 if old else 0)
        helpful = int(rng.random() < rate)
        reason = comment = None
        if not helpful:
            reason = rng.choice(REASONS) if rng.random() < 0.7 else None
            if rng.random() < 0.15:
                comment = f"Comment {i}: {' '.join(rng.choices(WORDS, k=8))}"
        yield (key[0], key[1], slug, f"{i:032x}", helpful, reason, comment,
               "old" + revision[3:] if old else revision, at, at)


def views(n: int, keys: list[tuple[int, str]], day0: datetime, days: int, rng: random.Random
          ) -> Iterator[tuple[Any, ...]]:
    """Day by day, so the page_views key grows in order (as it does in production)."""
    weights = zipf_weights(len(keys), 0.9)
    per_day = n // days
    serial = 0
    for offset in range(days):
        day = (day0 + timedelta(days=offset)).date().isoformat()
        count = per_day + (n - per_day * days if offset == days - 1 else 0)
        for pick in rng.choices(range(len(keys)), weights=weights, k=count):
            serial += 1
            yield (day, keys[pick][0], keys[pick][1], f"{serial:032x}")


def searches(n: int, day0: datetime, days: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    vocabulary = [" ".join(rng.choices(WORDS, k=rng.choice((1, 2, 2, 3)))) for _ in range(30_000)]
    weights = zipf_weights(len(vocabulary), 1.05)
    zero = {q for q in vocabulary if rng.random() < 0.08}
    picks = rng.choices(range(len(vocabulary)), weights=weights, k=n)
    for i, (pick, at) in enumerate(zip(picks, stamps(n, day0, days, rng), strict=True), start=1):
        query = vocabulary[pick]
        results = 0 if query in zero else rng.randrange(1, 40)
        yield (i, query, rng.choice(LANGS), None, None, results, round(rng.uniform(1, 20), 2),
               f"{i:032x}", at)


def chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    while True:
        chunk = list(islice(rows, CHUNK))
        if not chunk:
            return
        yield chunk


def fill(conn: sqlite3.Connection, sql: str, rows: Iterator[tuple[Any, ...]], label: str, total: int) -> None:
    started = time.perf_counter()
    done = 0
    for chunk in chunks(rows):
        with conn:
            conn.executemany(sql, chunk)
        done += len(chunk)
        rate = done / (time.perf_counter() - started)
        print(f"\r  {label}: {done:,}/{total:,} ({rate:,.0f} rows/s)", end="", flush=True)
    print(f"\r  {label}: {done:,} rows in {time.perf_counter() - started:.1f} s" + " " * 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out/analytics"))
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--views", type=int, default=5_000_000)
    parser.add_argument("--searches", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=400, help="article ids (each in en, pt, fr)")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    database = args.out / "data" / "kb.sqlite3"
    for path in (database, database.with_name("kb.sqlite3-wal"), database.with_name("kb.sqlite3-shm")):
        path.unlink(missing_ok=True)
    meta = write_content(args.out / "articles", args.articles, rng)
    keys = sorted(meta)
    print(f"content: {len(keys)} articles in {args.out / 'articles'}")

    async def migrate() -> None:
        db = Database(database)
        await db.open()
        await db.close()

    asyncio.run(migrate())
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day0 = today - timedelta(days=args.days - 1)
    conn = sqlite3.connect(database, isolation_level=None)
    # A generator: durability is not the point, so no journal and no fsync while loading (the
    # app switches the file back to WAL when it opens it).
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.isolation_level = "DEFERRED"
    fill(conn, "INSERT INTO votes (article_id, lang, slug, visitor, helpful, reason, comment, revision, "
               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
         votes(args.votes, keys, meta, day0, args.days, rng), "votes", args.votes)
    changed = rng.sample(range(1, args.votes + 1), k=args.votes * 3 // 100)
    with conn:  # ~3% of visitors changed their mind later (runs the update triggers)
        conn.executemany(
            "UPDATE votes SET helpful = 1 - helpful, updated_at = "
            "min(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+3 days')) "
            "WHERE id = ?", [(vote_id,) for vote_id in changed])
    print(f"  changed votes: {len(changed):,}")
    fill(conn, "INSERT OR IGNORE INTO page_views (day, article_id, lang, visitor) VALUES (?, ?, ?, ?)",
         views(args.views, keys, day0, args.days, rng), "views", args.views)
    fill(conn, "INSERT INTO searches (id, query, lang, category, type, results, took_ms, visitor, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", searches(args.searches, day0, args.days, rng),
         "searches", args.searches)
    clicks = conn.execute(
        "SELECT id, query, lang, results, created_at FROM searches WHERE results > 0 AND abs(random()) % 100 < 45"
    ).fetchall()
    fill(conn, "INSERT INTO search_clicks (search_id, query, lang, article_id, rank, visitor, created_at) "
               "VALUES (?, ?, ?, ?, ?, 'v', ?)",
         ((sid, q, lang, rng.randrange(1, args.articles + 1), 1 + int(math.log1p(rng.random() * results)), at)
          for sid, q, lang, results, at in clicks), "search clicks", len(clicks))
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    size = sum(p.stat().st_size for p in database.parent.glob("kb.sqlite3*")) / 1e6
    print(f"done in {time.perf_counter() - started:.0f} s: {database} ({size:,.0f} MB)")


if __name__ == "__main__":
    main()
