"""Timings of the analytics dashboard and articles table through the ASGI app, on the data set
of bench/analytics_data.py (goal of the analytics issue: under 1 second each with 1,000,000
votes, 5,000,000 views and 1,000,000 searches).

    python bench/analytics_data.py            # once: writes bench/out/analytics
    python bench/analytics.py [--out bench/out/analytics] [--runs 5]

Also printed, measured in the same run: the per-article figures computed by scanning the raw
rows (what the daily aggregates avoid), and the write cost of the aggregate triggers.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from kb.config import load_settings
from kb.errors import Conflict
from kb.storage.db import Database
from kb.web.app import create_app

PASSWORD = "bench password 1"


async def timed(client: httpx.AsyncClient, url: str, runs: int, headers: dict[str, str] | None = None
                ) -> tuple[float, float, float, int]:
    """(first, median, max) in ms over `runs` requests after the first, and the body size."""
    times = []
    size = 0
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
        size = len(response.content)
    return times[0], statistics.median(times[1:]), max(times[1:]), size


def raw_scan_baseline(database: Path, runs: int) -> float:
    """Per-article yes/no and views over 90 days straight from the raw tables (ms, median)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute("SELECT article_id, lang, sum(helpful), count(*) FROM votes "
                     "WHERE updated_at >= date('now', '-89 days') GROUP BY article_id, lang").fetchall()
        conn.execute("SELECT article_id, lang, count(*) FROM page_views "
                     "WHERE day >= date('now', '-89 days') GROUP BY article_id, lang").fetchall()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(times)


async def trigger_cost(rows: int = 20_000) -> dict[str, float]:
    """µs per inserted vote / page view, with and without the analytics triggers."""
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kb.sqlite3"
        db = Database(path)
        await db.open()
        await db.close()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous = OFF")
        votes = [(n % 300, "en", "s", f"{n:032x}", n % 2, None, None, "r", "2026-03-01T10:00:00Z",
                  "2026-03-01T10:00:00Z") for n in range(rows)]
        views = [("2026-03-01", n % 300, "en", f"{n:032x}") for n in range(rows)]
        for label in ("with triggers", "without"):
            if label == "without":
                for name in ("votes_count_insert", "page_views_count"):
                    conn.execute(f"DROP TRIGGER {name}")
            for table, sql, data in (
                    ("vote", ("INSERT INTO votes (article_id, lang, slug, visitor, helpful, reason, comment, "
                              "revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), votes),
                    ("view", "INSERT INTO page_views (day, article_id, lang, visitor) VALUES (?, ?, ?, ?)", views)):
                conn.execute("BEGIN")
                started = time.process_time()
                conn.executemany(sql, data)
                found[f"{table} {label}"] = (time.process_time() - started) / rows * 1e6
                conn.execute("ROLLBACK")
        conn.close()
    return found


async def time_reports(app: Any, top: tuple[int, str], runs: int) -> None:
    """Sign an analyst in to a started app and time each dashboard and API request, each next to
    the 1 s goal (`top`: the most voted (article id, lang), for its drill-down). bench/cluster.py
    runs it on PostgreSQL."""
    auth = app.state.kb.auth
    try:
        await auth.add_user("bench", PASSWORD, "analyst")
    except Conflict:  # an earlier run made it
        await auth.set_password("bench", PASSWORD)
    token = await app.state.kb.tokens.create(f"bench-{time.time_ns()}")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        # A settled node: the search index of a fresh index folder is built in the background,
        # on the same cores, and would be timed along with the first reports.
        while (await client.get("/healthz")).json().get("search") != "ok":
            await asyncio.sleep(0.2)
        page = await client.get("/admin/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        signed = await client.post("/admin/login", data={"csrf_token": csrf.group(1), "name": "bench",
                                                         "password": PASSWORD, "next": "/admin/"})
        assert signed.status_code == 303, signed.text
        api = {"Authorization": f"Bearer {token}"}
        cases: list[tuple[str, str, dict[str, str] | None]] = [
            ("dashboard, last 30 days", "/admin/analytics?period=30", None),
            ("dashboard, last 90 days", "/admin/analytics?period=90", None),
            ("dashboard, 180 days weekly", (f"/admin/analytics?period=custom&since={_days_ago(179)}"
                                            f"&until={_days_ago(0)}&interval=week"), None),
            ("dashboard, 90 days, lang + category", "/admin/analytics?period=90&lang=fr&category=billing", None),
            ("dashboard sorted by views", "/admin/analytics?period=90&sort=views&dir=desc", None),
            ("articles table (API), 90 days", "/api/v1/analytics/articles?period=90&limit=1000", api),
            ("articles table (API), 90 days, type", "/api/v1/analytics/articles?period=90&type=tutorial", api),
            ("drill-down, most voted article", f"/admin/analytics/articles/{top[0]}?lang={top[1]}&period=90",
             None),
            ("searches (API), 90 days", "/api/v1/analytics/searches?period=90", api),
            ("summary (API), 30 days", "/api/v1/analytics/summary?period=30", api),
        ]
        analytics = app.state.kb.analytics
        analytics.cache_seconds = 0  # every request computes its report from the aggregates
        print(f"\nuncached: every request computes its report (ms, {runs} runs after a first)")
        print(f"{'request':42} {'first':>9} {'median':>9} {'max':>9} {'size':>9}")
        for label, url, headers in cases:
            first, median, worst, size = await timed(client, url, runs, headers)
            flag = "" if max(first, worst) < 1000 else "  OVER 1 s"
            print(f"{label:42} {first:9.1f} {median:9.1f} {worst:9.1f} {size / 1024:8.0f}K{flag}")
        analytics.cache_seconds = 30.0
        first, median, worst, size = await timed(client, "/admin/analytics?period=90&sort=title", runs)
        print(f"{'dashboard, 90 days, re-sorted (30 s cache)':42} {first:9.1f} {median:9.1f} {worst:9.1f}"
              f" {size / 1024:8.0f}K")


async def run(out: Path, runs: int) -> None:
    database = out / "data" / "kb.sqlite3"
    if not database.exists():
        raise SystemExit(f"no data set at {database}: run bench/analytics_data.py first")
    counts = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    sizes = {t: counts.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("votes", "page_views", "searches", "article_daily", "search_daily")}
    top = counts.execute("SELECT article_id, lang FROM vote_tallies ORDER BY yes + no DESC LIMIT 1").fetchone()
    counts.close()
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
    with tempfile.TemporaryDirectory() as index_dir:
        settings = load_settings({"content_dir": out / "articles", "data_dir": out / "data",
                                  "database": database, "index_dir": Path(index_dir), "allowed_hosts": "*"}, environ={})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await time_reports(app, (int(top[0]), str(top[1])), runs)
    baseline = raw_scan_baseline(database, runs)
    print(f"\nbaseline: per-article votes and views over 90 days from the raw rows: {baseline:,.0f} ms "
          f"(the aggregates answer the same in a fraction of the articles-table time above)")
    cost = await trigger_cost()
    print("write cost of the aggregate triggers (CPU µs per row): "
          + ", ".join(f"{k} {v:.1f}" for k, v in cost.items()))


def _days_ago(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out/analytics"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.out, args.runs))


if __name__ == "__main__":
    main()
