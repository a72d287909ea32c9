"""Search benchmark: Whoosh (kb.search, through the HTTP API) against SQLite FTS5 on one corpus.

    python bench/search.py [--n 10000] [--seed 1] [--requests 2000] [--workdir DIR]

The corpus is bench/corpus.py's: N articles in six languages (en, pt, fr, de, it, es). Prints,
each next to its goal (issue #13, on the 2-core reference machine; a shared machine gives
pessimistic figures, so CPU seconds are printed beside wall-clock ones):
- full build: the server's own build process (kb.search.builds.build_from_stdin: content from
  the parse cache, every article rendered once, languages over one worker per CPU), <= 60 s at
  50,000 articles;
- cold start: a real `kb serve` process with an existing index, from launch to /healthz saying
  search "ok", <= 3 s (its bytecode compiled first, as pip does); its memory (RSS) after start
  and after the searches, <= 600 MB;
- one edit visible in search: a file rewritten under the running server, until a search finds
  the new word (the tree watcher's file notifications, a reload of that file, one document
  re-indexed), <= 200 ms;
- p50/p95 of GET /api/v1/search (through the ASGI app with httpx) for a Zipf query stream (the
  cache helps, p50 <= 3 ms) and for all-distinct queries never run before in any part (no cache,
  p95 <= 20 ms; after the Zipf stream, as on a running server), for typo
  queries, and of GET /api/v1/suggest (p95 <= 10 ms);
then the same queries on SQLite FTS5 (standard library, porter + unicode61 without diacritics,
bm25 with the same field weights, snippet() for highlights), engine against engine.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import logging
import os
import random
import re
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import kb
from bench.corpus import LANGS, Corpus, Zipf, generate
from kb.config import load_settings
from kb.content.site import CONTENT_CACHE_FILE, Site
from kb.search import builds
from kb.search.index import SearchIndex
from kb.search.query import parse_query
from kb.web.app import create_app

FTS_WEIGHTS = (6.0, 3.0, 3.0, 2.0, 1.0)  # title, headings, tags, summary, body (as kb.search)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(name: str, values: list[float], unit: str = "ms") -> str:
    return f"  {name:<38} p50 {pct(values, 50):8.2f} {unit}   p95 {pct(values, 95):8.2f} {unit}   (n={len(values)})"


# --- queries ----------------------------------------------------------------------------------


def _mutate(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("delete", "swap", "replace"))
    if kind == "delete":
        return word[:i] + word[i + 1:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1:]


def query_sets(corpus: Corpus, site: Site, requests: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed + 7)
    langs, weights = list(LANGS), list(LANGS.values())
    pool: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    zipfs = {lang: Zipf(corpus.vocab[lang][:600], 1.0, rng) for lang in LANGS}
    while len(pool) < 300:
        lang = rng.choices(langs, weights)[0]
        q = " ".join(zipfs[lang].draw() for _ in range(rng.choice((1, 2, 2, 3))))
        if (lang, q) not in seen:
            seen.add((lang, q))
            pool.append((lang, q))
    ranks = list(range(len(pool)))
    stream = [pool[i] for i in rng.choices(ranks, [1 / (r + 1) for r in ranks], k=requests)]
    def distinct_queries() -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        while len(found) < 500:
            lang = rng.choices(langs, weights)[0]
            q = " ".join(zipfs[lang].draw() for _ in range(2)) + " " + rng.choice(corpus.vocab[lang][:3000])
            if (lang, q) not in seen:
                seen.add((lang, q))
                found.append((lang, q))
        return found

    distinct = distinct_queries()
    typos: list[tuple[str, str, str]] = []  # (lang, query, slug that should come back)
    articles = site.published()
    while len(typos) < 300:
        article = rng.choice(articles)
        words = [w for w in re.findall(r"\w+", article.title.lower()) if len(w) >= 5]
        if len(words) < 2:
            continue
        a, b = rng.sample(words, 2)
        q = f"{_mutate(a, rng)} {b}"
        if (article.lang, q) not in seen:
            seen.add((article.lang, q))
            typos.append((article.lang, q, article.slug))
    prefixes: list[tuple[str, str]] = []
    while len(prefixes) < 500:
        article = rng.choice(articles)
        words = re.findall(r"\w+", article.title)
        k = rng.randrange(len(words))
        last = words[k][: rng.randint(2, max(2, len(words[k])))]
        q = " ".join(words[:k] + [last])
        if (article.lang, q) not in seen:
            seen.add((article.lang, q))
            prefixes.append((article.lang, q))
    # The HTTP part's own distinct queries: the engine part ran `distinct` before it, in the same
    # process, and what those queries read of the index would still be decoded for them.
    fresh = distinct_queries()
    return {"stream": stream, "distinct": distinct, "typos": typos, "prefixes": prefixes, "fresh": fresh}


# --- SQLite FTS5, the baseline ------------------------------------------------------------------


class Fts:
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(title, headings, tags, summary, body, "
            "lang UNINDEXED, slug UNINDEXED, category UNINDEXED, type UNINDEXED, "
            "tokenize='porter unicode61 remove_diacritics 2')")

    def row(self, site: Site, article: Any) -> tuple[Any, ...]:
        rendered = site.rendered(article)
        return (article.title, " ".join(h.text for h in rendered.headings), " ".join(article.tags),
                article.summary, rendered.text, article.lang, article.slug, article.category, article.type)

    def build(self, site: Site) -> None:
        with self.db:
            self.db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                (self.row(site, a) for a in site.published()))

    def update(self, site: Site, article: Any) -> None:
        with self.db:
            self.db.execute("DELETE FROM docs WHERE slug = ? AND lang = ?", (article.slug, article.lang))
            self.db.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.row(site, article))

    @staticmethod
    def match(q: str, prefix: bool = False) -> str:
        words = re.findall(r"\w+", q.lower())
        if not words:
            return ""
        terms = [f'"{w}"' for w in words]
        if prefix:
            terms[-1] += "*"
            return "title : (" + " ".join(terms) + ")"
        return " ".join(terms)

    def search(self, lang: str, q: str) -> tuple[int, list[str]]:
        match = self.match(q)
        if not match:
            return 0, []
        weights = ", ".join(str(w) for w in FTS_WEIGHTS)
        rows = self.db.execute(
            f"SELECT slug, title, snippet(docs, 4, '<mark>', '</mark>', '…', 16) FROM docs "
            f"WHERE docs MATCH ? AND lang = ? ORDER BY bm25(docs, {weights}) LIMIT 10", (match, lang)).fetchall()
        total = self.db.execute("SELECT count(*) FROM docs WHERE docs MATCH ? AND lang = ?", (match, lang)).fetchone()[0]
        self.db.execute("SELECT category, count(*) FROM docs WHERE docs MATCH ? AND lang = ? GROUP BY category",
                        (match, lang)).fetchall()
        self.db.execute("SELECT type, count(*) FROM docs WHERE docs MATCH ? AND lang = ? GROUP BY type",
                        (match, lang)).fetchall()
        return total, [r[0] for r in rows]

    def suggest(self, lang: str, q: str) -> list[str]:
        match = self.match(q, prefix=True)
        if not match:
            return []
        return [r[0] for r in self.db.execute(
            "SELECT title FROM docs WHERE docs MATCH ? AND lang = ? ORDER BY rank LIMIT 8", (match, lang))]


# --- measuring ----------------------------------------------------------------------------------


def timed(items: Iterable[Any], call: Callable[..., Any],
          cpu: list[float] | None = None) -> tuple[list[float], list[Any]]:
    """Wall-clock ms per call (and CPU ms into `cpu`: what a busy shared machine changes least)."""
    times, results = [], []
    for item in items:
        started, started_cpu = time.perf_counter(), time.process_time()
        results.append(call(*item))
        times.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - started_cpu) * 1000)
    return times, results


async def timed_async(items: Iterable[Any], call: Callable[..., Awaitable[Any]]) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for item in items:
        started = time.perf_counter()
        results.append(await call(*item))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def found_rate(results: list[list[str]], typos: list[tuple[str, str, str]], top: int) -> float:
    hits = sum(1 for slugs, (_, _, slug) in zip(results, typos, strict=True) if slug in slugs[:top])
    return 100.0 * hits / len(typos)


async def http_part(workdir: Path, content: Path, index_dir: Path, sets: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings({"content_dir": content, "index_dir": index_dir, "data_dir": workdir / "data",
                              "watch_seconds": 3600.0, "allowed_hosts": "*"}, environ={})
    app = create_app(settings)
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            async def search(lang: str, q: str, *_: Any) -> list[str]:
                response = await client.get("/api/v1/search", params={"q": q, "lang": lang})
                assert response.status_code == 200, response.text
                return [r["slug"] for r in response.json()["results"]]

            async def suggest(lang: str, q: str) -> int:
                response = await client.get("/api/v1/suggest", params={"q": q, "lang": lang})
                assert response.status_code == 200, response.text
                return len(response.json()["suggestions"])

            await timed_async(sets["distinct"][:20], search)  # warm up threads and caches of the OS
            out["zipf"], _ = await timed_async(sets["stream"], search)
            out["distinct"], _ = await timed_async(sets["fresh"], search)  # queries never run before
            out["typos"], typo_results = await timed_async(sets["typos"], search)
            out["typo_found"] = found_rate(typo_results, sets["typos"], 10)
            out["suggest"], counts = await timed_async(sets["prefixes"], suggest)
            out["suggest_nonempty"] = 100.0 * sum(1 for c in counts if c) / len(counts)
    return out


# --- a real server process ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def live_server(workdir: Path, content: Path, index_dir: Path, sets: dict[str, Any]) -> dict[str, Any]:
    """Cold start of `kb serve` on the existing index, its memory, and edit-to-searchable latency
    through its tree watcher."""
    port = _free_port()
    env = {**os.environ, "KB_CONTENT_DIR": str(content), "KB_INDEX_DIR": str(index_dir),
           "KB_DATA_DIR": str(workdir / "data-live"), "KB_PORT": str(port), "KB_ALLOWED_HOSTS": "*"}
    kb_command = Path(sys.executable).with_name("kb")
    # The server starts as installed: pip compiles a wheel's bytecode when it installs it. An
    # editable install compiles on first import, except under PYTHONDONTWRITEBYTECODE (set on
    # the CI machine), when every start would compile kb anew (~0.3 s).
    compileall.compile_dir(Path(kb.__file__).parent, quiet=1)
    started = time.perf_counter()
    server = subprocess.Popen([str(kb_command), "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                try:
                    health = client.get("/healthz")
                    if health.status_code == 200 and health.json()["search"] == "ok":
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - started > 300:
                    raise RuntimeError("the server did not start")
                time.sleep(0.01)
            out["cold_start"] = time.perf_counter() - started
            out["rss_start"] = _rss_mb(server.pid)
            time.sleep(2)  # the catch-up sync with the content, in the background
            for lang, q in sets["distinct"][:300]:
                client.get("/api/v1/search", params={"q": q, "lang": lang})
            for lang, q in sets["prefixes"][:300]:
                client.get("/api/v1/suggest", params={"q": q, "lang": lang})
            out["rss_served"] = _rss_mb(server.pid)
            out["edits"] = edit_latency(client, content)
            out["rss_end"] = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    return out


def edit_latency(client: httpx.Client, content: Path) -> list[float]:
    """Rewrite one article's file under the running server; ms until a search finds the new word."""
    rng = random.Random(3)
    files = sorted((content / "en").rglob("*.md"))
    timings = []
    for attempt in range(10):
        path = rng.choice(files)
        word = f"zqxbench{attempt}marker{rng.randrange(10**6)}"
        text = path.read_text(encoding="utf-8") + f"\n\nThe {word} paragraph.\n"
        started = time.perf_counter()
        path.write_text(text, encoding="utf-8")
        while True:
            body = client.get("/api/v1/search", params={"q": word, "lang": "en"}).json()
            if body["results"]:
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError("the edit never became searchable")
            time.sleep(0.002)
        timings.append((time.perf_counter() - started) * 1000)
        time.sleep(0.3)
    return timings


def machine_speed() -> float:
    """CPU seconds of a fixed pure-Python loop: a shared machine's speed moves between runs, and
    every figure here moves with it; this one tells two runs' machines apart."""
    started = time.process_time()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.process_time() - started


def timed_build(site: Site, index_dir: Path) -> tuple[float, float]:
    """The server's build process, as the server starts it: (wall s, CPU s of it and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = builds.start_build_process()
    child.communicate(builds.build_job(site, index_dir))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode != 0:
        raise RuntimeError(f"the build process failed ({child.returncode})")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="articles in the corpus (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2000, help="requests in the Zipf stream")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the corpus and indexes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    content, index_dir = workdir / "articles", workdir / "index"

    started = time.perf_counter()
    corpus = generate(content, args.n, args.seed)
    print(f"corpus: {args.n} articles in {', '.join(LANGS)} ({time.perf_counter() - started:.1f} s) in {workdir}")
    site = Site(content, cache_file=index_dir / CONTENT_CACHE_FILE)  # the server's parse cache
    started = time.perf_counter()
    site.load()
    print(f"content parsed: {time.perf_counter() - started:.1f} s (stored as the parse cache)")
    whoosh_build, build_cpu = timed_build(site, index_dir)
    print(f"full build (build process): {whoosh_build:.1f} s, {build_cpu:.1f} CPU s", flush=True)
    index = SearchIndex(index_dir)
    index.open()
    started = time.perf_counter()
    for article in site.published():
        site.rendered(article)
    render_s = time.perf_counter() - started
    print(f"rendering for FTS5 (not counted in its build): {args.n / render_s:.0f} articles/s")
    fts = Fts(workdir / "fts.sqlite3")
    started = time.perf_counter()
    fts.build(site)
    fts_build = time.perf_counter() - started

    sets = query_sets(corpus, site, args.requests, args.seed)
    direct: dict[str, Any] = {"cpu_distinct": [], "cpu_typos": []}
    direct["w_distinct"], _ = timed(sets["distinct"], lambda lang, q: index.search(lang, parse_query(q)),
                                    direct["cpu_distinct"])
    direct["w_typos"], _ = timed([(lang, q) for lang, q, _ in sets["typos"]],
                                      lambda lang, q: [h.slug for h in index.search(lang, parse_query(q)).hits],
                                      direct["cpu_typos"])
    direct["w_suggest"], _ = timed(sets["prefixes"], index.suggest)
    direct["f_distinct"], _ = timed(sets["distinct"], fts.search)
    direct["f_typos"], f_typo = timed([(lang, q) for lang, q, _ in sets["typos"]], lambda lang, q: fts.search(lang, q)[1])
    direct["f_suggest"], f_suggest = timed(sets["prefixes"], fts.suggest)
    direct["f_zipf"], _ = timed(sets["stream"], fts.search)
    index.close()
    fts_update = []
    for article in random.Random(5).sample(site.published(), 20):
        started = time.perf_counter()
        fts.update(site, article)
        fts_update.append((time.perf_counter() - started) * 1000)

    http = asyncio.run(http_part(workdir, content, index_dir, sets))
    live = live_server(workdir, content, index_dir, sets)

    scale = 50_000 / args.n
    print(f"\n{args.n} articles, {os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f}, "
          f"machine speed: 10 million additions in pure Python took {machine_speed():.2f} s")
    print(f"full build: {whoosh_build:.1f} s ({args.n / whoosh_build:.0f} articles/s, {build_cpu:.1f} CPU s); "
          f"goal <= 60 s at 50,000 (at this rate {whoosh_build * scale:.0f} s): "
          f"{goal(whoosh_build * scale <= 60)}; FTS5 (rendered already) {fts_build:.1f} s")
    print(f"cold start to /healthz (search ok), existing index: {live['cold_start']:.2f} s; goal <= 3 s: "
          f"{goal(live['cold_start'] <= 3)}")
    print(f"server memory (RSS): {live['rss_start']:.0f} MB after start, {live['rss_served']:.0f} MB after "
          f"600 searches and suggestions, {live['rss_end']:.0f} MB after the edits; goal <= 600 MB: "
          f"{goal(max(live['rss_start'], live['rss_served'], live['rss_end']) <= 600)}")
    edits = live["edits"]
    print(f"one edit visible in search (file written -> found, through the watcher): median "
          f"{statistics.median(edits):.0f} ms, max {max(edits):.0f} ms (n={len(edits)}); goal <= 200 ms: "
          f"{goal(max(edits) <= 200)}; FTS5 delete+insert+commit {statistics.median(fts_update):.1f} ms")
    print("\nHTTP API, GET through the ASGI app (httpx.ASGITransport), sequential:")
    print(row("search, Zipf stream (cache)", http["zipf"]) + f"   goal p50 <= 3 ms: {goal(pct(http['zipf'], 50) <= 3)}")
    print(row("search, all distinct (no cache)", http["distinct"]) + f"   goal p95 <= 20 ms: {goal(pct(http['distinct'], 95) <= 20)}")
    print(row("search, typo queries", http["typos"]))
    print(row("suggest, distinct prefixes", http["suggest"]) + f"   goal p95 <= 10 ms: {goal(pct(http['suggest'], 95) <= 10)}")
    print(f"  typo queries whose article is in the top 10: whoosh {http['typo_found']:.0f}%, "
          f"FTS5 {found_rate(f_typo, sets['typos'], 10):.0f}%")
    print(f"  prefixes with suggestions: whoosh {http['suggest_nonempty']:.0f}%, "
          f"FTS5 {100.0 * sum(1 for s in f_suggest if s) / len(f_suggest):.0f}%")
    print("\nengine only (no HTTP, no cache; the index just opened, each term read for the first time), "
          "whoosh vs SQLite FTS5 on the same queries:")
    for label, w, f in (("search, distinct", "w_distinct", "f_distinct"), ("search, typos", "w_typos", "f_typos"),
                        ("suggest", "w_suggest", "f_suggest")):
        print(row(f"whoosh {label}", direct[w]))
        print(row(f"FTS5   {label}", direct[f]) + f"   whoosh/FTS5 p50 x{pct(direct[w], 50) / max(pct(direct[f], 50), 1e-6):.1f}"
              f" p95 x{pct(direct[w], 95) / max(pct(direct[f], 95), 1e-6):.1f}")
    print(row("whoosh distinct CPU, just opened", direct["cpu_distinct"]) +
          f"   goal p95 <= 20 ms: {goal(pct(direct['cpu_distinct'], 95) <= 20)}")
    print(row("whoosh search, typos: CPU", direct["cpu_typos"]))
    print(row("FTS5   search, Zipf stream (no cache)", direct["f_zipf"]) +
          f"   HTTP whoosh/FTS5 p50 x{pct(http['zipf'], 50) / max(pct(direct['f_zipf'], 50), 1e-6):.1f}")


if __name__ == "__main__":
    main()
