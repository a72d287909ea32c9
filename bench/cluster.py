"""Issue 12's three figures for kb as several nodes, in one run, each next to its goal.

The script starts its own throwaway PostgreSQL (tests/pg_cluster.py's Cluster, here with
PostgreSQL's durable defaults: a commit waits for the disk) and real `kb serve` nodes:

1. Acknowledged votes/s: 50 clients (bench/votes.py's keep-alive client and loop: a new vote by
   a new visitor, then a change of it) spread over two nodes on one PostgreSQL database, against
   the same load on one node on SQLite; each client connects from its own loopback address, as
   readers do (the per-address vote limit holds). Afterwards every acknowledged vote must be stored with
   its acknowledged value, nothing else stored, and the tallies must count every vote.
   Goal: >= 1,000/s on the cluster, zero lost. Beside each rate, the CPU each acknowledged vote
   cost the nodes and PostgreSQL (from /proc, so it does not depend on the machine's load as the
   rate does) and how many votes shared a WAL flush (PostgreSQL's group commit).
2. Publish on node A -> visible on node B: an editor signed in on A publishes a change N times
   through /admin; the time from the publish's answer until B's page shows it, and B's search
   finds it. B learns of the push by PostgreSQL LISTEN/NOTIFY (`--polling`: each node on its own
   SQLite file, B learns from its poll every KB_CONTENT_POLL_SECONDS). Goal: median <= 2 s.
3. The analytics dashboard on PostgreSQL over 1,000,000 votes and 5,000,000 views: the data set
   of bench/analytics_data.py (generated once into --analytics-out when missing) moved into
   PostgreSQL by `kb db copy`'s COPY (kb.storage.transfer), then bench/analytics.py's requests.
   Goal: <= 1 s each, as on SQLite.

    python bench/cluster.py [--seconds 10] [--clients 50] [--rounds 10] [--poll 5] [--polling]
                            [--analytics-out bench/out/analytics] [--skip votes,publish,analytics]

On a shared machine (the load generator, both nodes and PostgreSQL on the same cores) every
figure is pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from itsdangerous import Signer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import analytics as analytics_bench  # bench/analytics.py (this script's folder is on sys.path)
import votes as votes_bench  # bench/votes.py

from kb.config import load_settings
from kb.storage.db import Database
from kb.storage.transfer import CopyReport, copy_to_postgresql
from kb.web.app import create_app
from tests.admin_support import form_fields
from tests.pg_cluster import INSTALL_HINT, Cluster, find_binaries

PASSWORD = "bench password 123"
EDIT = "/admin/articles/en/how-to-search"
PAGE = "/en/articles/how-to-search"
GOAL = 2.0  # seconds, median publish -> visible on the other node
VOTES_GOAL = 1000  # acknowledged votes/s on two nodes
DASHBOARD_GOAL = 1000  # ms


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@kb.invalid",
                        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@kb.invalid"})


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    def __init__(self, work: Path, name: str, env: dict[str, str]) -> None:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("KB_")},
                    "KB_CONTENT_DIR": str(folder / "articles"), "KB_INDEX_DIR": str(folder / "index"),
                    "KB_DATA_DIR": str(folder / "data"), "KB_PORT": str(self.port), **env}
        self.log = (folder / "serve.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve"], env=self.env, cwd=folder,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"a node exited: see {self.log.name}")
            try:
                if self.http.get("/healthz").json()["search"] == "ok":
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SystemExit("a node was not ready within 180 s")

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def until(condition: object, started: float, limit: float = 30.0) -> float:
    assert callable(condition)
    while not condition():
        if time.perf_counter() - started > limit:
            raise SystemExit(f"not visible on node B within {limit:.0f} s")
        time.sleep(0.01)
    return time.perf_counter() - started



# --- 1. acknowledged votes/s ---------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """CPU time of a process and its descendants (living, and reaped ones through the cumulative
    fields of their parent) from /proc: what a run cost, whatever else shares the machine."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                parents.setdefault(fields[0], []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        fields = _stat(pid)
        if fields:
            total += sum(fields[1:5])
        todo.extend(parents.get(pid, []))
    return total / _TICKS


def _stat(pid: int) -> list[int] | None:
    """ppid, utime, stime, cutime, cstime of /proc/<pid>/stat (None: the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return [int(fields[1]), *map(int, fields[11:15])]


def wal_flushes(url: str) -> int:
    """WAL flushes of the cluster so far (PostgreSQL 14+): each durable commit waits for one,
    and one flush serves every commit that waited for it."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
    return int(row[0]) if row else 0


def report_cpu(acknowledged: int, **seconds: float) -> None:
    parts = ", ".join(f"{name} {spent * 1000 / max(acknowledged, 1):.2f} ms" for name, spent in seconds.items())
    print(f"{'':34} CPU per acknowledged vote: {parts}")


class Stored:
    """What the database holds after a vote run: each vote, the row count, the tallies' total."""

    def __init__(self, rows: dict[tuple[str, str, int], bool], count: int, tallied: int) -> None:
        self.rows, self.count, self.tallied = rows, count, tallied


def stored_in_postgresql(url: str) -> Stored:
    with psycopg.connect(url) as conn:
        rows = {(str(v), str(lang), int(a)): bool(h) for v, lang, a, h in
                conn.execute("SELECT visitor, lang, article_id, helpful FROM votes")}
        count = conn.execute("SELECT count(*) FROM votes").fetchone()
        tallied = conn.execute("SELECT coalesce(sum(yes + no), 0) FROM vote_tallies").fetchone()
    assert count is not None and tallied is not None
    return Stored(rows, int(count[0]), int(tallied[0]))


def stored_in_sqlite(database: Path) -> Stored:
    return Stored(*votes_bench.stored_votes(database))


async def vote_load(nodes: list[Node], clients: int, seconds: float, secret: str) -> tuple[votes_bench.Tally, float]:
    """`clients` keep-alive clients, client i on node i mod len(nodes) from its own loopback
    address, for `seconds`."""
    async with httpx.AsyncClient(base_url=nodes[0].url) as client:
        listing = (await client.get("/api/v1/articles", params={"limit": 100})).json()["results"]
    articles = [(a["lang"], a["slug"], a["id"]) for a in listing]
    signer = Signer(secret, salt="kb.visitor")
    tally = votes_bench.Tally()
    # Each client from its own address, as readers are: the per-address limit is a lock per
    # address in PostgreSQL, and one address for every client would make it one global lock.
    pool = [votes_bench.RawClient("127.0.0.1", nodes[i % len(nodes)].port, f"127.0.{i // 250}.{i % 250 + 2}")
            for i in range(clients)]
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(votes_bench.client_loop(c, articles, deadline, tally, signer, secret) for c in pool))
    return tally, time.perf_counter() - started


def report_votes(label: str, tally: votes_bench.Tally, elapsed: float, stored: Stored) -> tuple[float, bool]:
    acknowledged = tally.created + tally.changed
    rate = acknowledged / elapsed
    lost = [key for key, helpful in tally.acked.items() if stored.rows.get(key) != helpful]
    extra = [key for key in stored.rows if key not in tally.acked]
    ok = not lost and not extra and stored.count == len(tally.acked) and stored.tallied == stored.count
    latencies = sorted(tally.latencies) or [0.0]
    print(f"{label:34} {rate:7.0f} acknowledged votes/s ({acknowledged} in {elapsed:.1f} s, "
          f"p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms"
          f", errors: {tally.errors or 'none'})")
    print(f"{'':34} acknowledged == stored: {'OK' if ok else 'FAILED'} (stored {stored.count}, distinct "
          f"acknowledged {len(tally.acked)}, tallied {stored.tallied}, lost or wrong {len(lost)}, "
          f"unexpected {len(extra)})")
    return rate, ok


def measure_votes(work: Path, cluster: Cluster, clients: int, seconds: float) -> tuple[float, bool]:
    """One node on SQLite, then two on PostgreSQL, under the same load; the cluster's figure."""
    secret = secrets.token_urlsafe(32)
    settings = {"KB_SECRET_KEY": secret, "KB_VOTE_RATE_LIMIT": "1000000000", "KB_ALLOWED_HOSTS": "*",
                "KB_WATCH_SECONDS": "3600"}
    shutil.copytree(ROOT / "articles", work / "single" / "articles")
    single = Node(work, "single", settings)
    try:
        single.wait_ready()
        before = cpu_seconds(single.process.pid)
        tally, elapsed = asyncio.run(vote_load([single], clients, seconds, secret))
        spent = cpu_seconds(single.process.pid) - before
    finally:
        single.stop()
    print(f"\nacknowledged votes/s, {clients} clients for {seconds:g} s (goal: >= {VOTES_GOAL:,}/s on two nodes, "
          f"zero lost); load average {os.getloadavg()[0]:.1f}")
    report_votes("one node, SQLite", tally, elapsed, stored_in_sqlite(work / "single" / "data" / "kb.sqlite3"))
    report_cpu(tally.created + tally.changed, node=spent)
    url = cluster.create_database()
    for name in ("a", "b"):
        shutil.copytree(ROOT / "articles", work / f"votes-{name}" / "articles")
    nodes = [Node(work, f"votes-{name}", {**settings, "KB_DATABASE": url}) for name in ("a", "b")]
    try:
        for node in nodes:
            node.wait_ready()
        server = cluster.postmaster()
        flushes = wal_flushes(url)
        before = [cpu_seconds(node.process.pid) for node in nodes] + [cpu_seconds(server)]
        tally, elapsed = asyncio.run(vote_load(nodes, clients, seconds, secret))
        after = [cpu_seconds(node.process.pid) for node in nodes] + [cpu_seconds(server)]
        flushes = wal_flushes(url) - flushes
    finally:
        for node in nodes:
            node.stop()
    print(f"{'':34} load average {os.getloadavg()[0]:.1f}")
    rate, ok = report_votes("two nodes, one PostgreSQL", tally, elapsed, stored_in_postgresql(url))
    acknowledged = tally.created + tally.changed
    report_cpu(acknowledged, nodes=after[0] + after[1] - before[0] - before[1], PostgreSQL=after[2] - before[2])
    print(f"{'':34} {acknowledged / max(flushes, 1):.1f} votes per WAL flush ({flushes} flushes, each a "
          "durable commit of one node's batch or of both)")
    print(f"goal: >= {VOTES_GOAL:,} acknowledged votes/s on the cluster, zero lost -> "
          f"{'met' if rate >= VOTES_GOAL and ok else 'NOT met'}")
    return rate, ok


# --- 2. publish on A -> visible on B --------------------------------------------------------------


def measure_publish(work: Path, database: str, rounds: int, poll: float) -> float:
    """The median seconds from a publish on A to B's page showing it."""
    seed = work / "seed"
    shutil.copytree(ROOT / "articles", seed)
    git(seed, "init", "--quiet", "-b", "main")
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "-m", "sample content")
    git(work, "clone", "--quiet", "--bare", str(seed), str(work / "remote.git"))
    shared = {"KB_CONTENT_REMOTE": str(work / "remote.git"), "KB_SECRET_KEY": secrets.token_urlsafe(32),
              "KB_CONTENT_POLL_SECONDS": str(poll), "KB_ALLOWED_HOSTS": "*"}
    if database:
        shared["KB_DATABASE"] = database
    a, b = Node(work, "a", shared), Node(work, "b", shared)
    try:
        a.wait_ready()
        b.wait_ready()
        subprocess.run([sys.executable, "-m", "kb.cli", "user", "add", "bench", "--role", "editor",
                        "--password-stdin"], input=PASSWORD + "\n", text=True, env=a.env, check=True,
                       capture_output=True)
        login = a.http.get("/admin/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token
        a.http.post("/admin/login", data={"csrf_token": token[1], "name": "bench", "password": PASSWORD})
        saves, pages, searches = [], [], []
        for number in range(rounds):
            word = f"clusterword{number}x"
            values = form_fields(a.http.get(EDIT).text)
            values["body"] = values["body"].rstrip() + f"\n\nMarker {word}.\n"
            # A publish comes at any moment of B's poll cycle: without this wait every round would
            # start just after B's last fetch (the previous round ends there) and wait a whole cycle.
            time.sleep(random.uniform(0, poll))
            started = time.perf_counter()
            response = a.http.post(EDIT, data={**values, "action": "publish", "message": f"round {number}"})
            if response.status_code != 303:
                raise SystemExit(f"publish answered {response.status_code}")
            saves.append(time.perf_counter() - started)
            pages.append(until(lambda w=word: w in b.http.get(PAGE).text, started))
            searches.append(until(lambda w=word: w in b.http.get("/en/search", params={"q": w}).text, started))
    finally:
        a.stop()
        b.stop()

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:7.1f} ms, max {max(values) * 1000:7.1f} ms"

    print(f"\n{rounds} publishes on node A, KB_CONTENT_POLL_SECONDS={poll:g}, "
          f"notifications: {'PostgreSQL LISTEN/NOTIFY' if database else 'none (SQLite per node, polling)'}")
    print(f"publish on A (write, commit, push, reload)  {ms(saves)}")
    print(f"publish on A -> B's page shows it          {ms(pages)}")
    print(f"publish on A -> B's search finds it        {ms(searches)}")
    median = statistics.median(pages)
    print(f"goal: median publish -> visible on the other node <= {GOAL * 1000:.0f} ms -> "
          f"{'met' if median <= GOAL else 'NOT met'}")
    return median


# --- 3. the analytics dashboard on PostgreSQL -----------------------------------------------------


async def migrated_copy(source: Path, url: str) -> CopyReport:
    """`kb db migrate` on the data set (made by an older kb, perhaps), then `kb db copy`."""
    db = Database(source)
    await db.open()
    await db.close()
    return await copy_to_postgresql(source, url)


def measure_dashboard(cluster: Cluster, out: Path, runs: int) -> None:
    source = out / "data" / "kb.sqlite3"
    if not source.exists():
        print(f"\ngenerating the analytics data set into {out} (bench/analytics_data.py, once)", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "analytics_data.py"), "--out", str(out)], check=True)
    url = cluster.create_database()
    started = time.perf_counter()
    report = asyncio.run(migrated_copy(source, url))
    print(f"\nanalytics data set moved to PostgreSQL by kb db copy (COPY, verified, analyzed) in "
          f"{time.perf_counter() - started:.0f} s: " + ", ".join(
              f"{table} {report.rows[table]:,}" for table in ("votes", "page_views", "searches", "article_daily")))
    with psycopg.connect(url) as conn:
        top = conn.execute("SELECT article_id, lang FROM vote_tallies ORDER BY yes + no DESC LIMIT 1").fetchone()
    assert top is not None

    async def timed() -> None:
        with tempfile.TemporaryDirectory() as index_dir:
            settings = load_settings({"content_dir": out / "articles", "data_dir": Path(index_dir) / "data",
                                      "database": url, "index_dir": Path(index_dir), "allowed_hosts": "*"},
                                     environ={})
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                await analytics_bench.time_reports(app, (int(top[0]), str(top[1])), runs)

    print(f"analytics on PostgreSQL (goal: <= {DASHBOARD_GOAL} ms each, as on SQLite; OVER marks a miss)")
    asyncio.run(timed())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each vote run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10, help="publishes on node A")
    parser.add_argument("--poll", type=float, default=5.0, help="KB_CONTENT_POLL_SECONDS of the nodes")
    parser.add_argument("--polling", action="store_true",
                        help="publish with each node on its own SQLite file (no NOTIFY): the polling variant")
    parser.add_argument("--analytics-out", type=Path, default=ROOT / "bench" / "out" / "analytics")
    parser.add_argument("--runs", type=int, default=5, help="requests per analytics case after a first")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: votes,publish,analytics")
    args = parser.parse_args()
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit(INSTALL_HINT)
    load = os.getloadavg()
    print(f"cpus: {os.cpu_count()}, load average before: {load[0]:.1f} (a shared machine: figures are pessimistic)")
    cluster = Cluster(binaries, durable=True, options="-c shared_buffers=512MB -c work_mem=64MB")
    cluster.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            if "votes" not in skip:
                measure_votes(work / "votes", cluster, args.clients, args.seconds)
            if "publish" not in skip:
                (work / "publish").mkdir()
                measure_publish(work / "publish", "" if args.polling else cluster.create_database(),
                                args.rounds, args.poll)
            if "analytics" not in skip:
                measure_dashboard(cluster, args.analytics_out, args.runs)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
