"""Benchmark: acknowledged votes per second over HTTP, with zero loss.

Starts `uvicorn kb.web.app:app_from_environment` on a loopback port (a fresh database in a
temporary folder, the sample content), then 50 concurrent clients (httpx.AsyncClient) vote
through the JSON API for the given number of seconds. Each client alternates a new vote from a
new visitor (no cookie: the server issues one, 201) and a change of that vote (with the cookie,
200). At the end the server is stopped and the database is compared with what was acknowledged:
every 2xx must be stored with the acknowledged value, and nothing else.

    python bench/votes.py [--seconds 10] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from itsdangerous import Signer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.web.security import VISITOR_COOKIE, visitor_hash


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, secret: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, KB_CONTENT_DIR=str(ROOT / "articles"), KB_DATA_DIR=str(data_dir),
               KB_INDEX_DIR=str(data_dir / "index"), KB_SECRET_KEY=secret,
               KB_VOTE_RATE_LIMIT="1000000000", KB_WATCH_SECONDS="3600")
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "kb.web.app:app_from_environment",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env, cwd=ROOT)


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.acked: dict[tuple[str, str, int], bool] = {}  # (visitor, lang, article id) -> helpful
        self.created = 0
        self.changed = 0
        self.errors: dict[str, int] = {}


# A reader's browser: without a user agent (or with a script's) a vote is stored but counted in no
# tally (kb.analytics.visitors), and the benchmark would skip the tally triggers readers' votes run.
READER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


class RawClient:
    """A minimal HTTP/1.1 keep-alive client: one connection, one request at a time.

    httpx costs about 2 ms of CPU per request on this 2-core VM, more than the server spends on
    a vote, so with it the benchmark measures the client. This client costs a few tens of µs.
    """

    def __init__(self, host: str, port: int, source: str | None = None) -> None:
        self.host, self.port = host, port
        self.source = source  # the client's own address (127.0.0.0/8 all reach the loopback)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookie: str | None = None

    async def get(self, path: str) -> int:
        return await self.request(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())

    async def post_json(self, path: str, payload: dict[str, object]) -> int:
        body = json.dumps(payload).encode()
        cookie = f"Cookie: {VISITOR_COOKIE}={self.cookie}\r\n" if self.cookie else ""
        return await self.request((f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                                   f"User-Agent: {READER}\r\n"
                                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                                   f"{cookie}\r\n").encode() + body)

    async def request(self, data: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, local_addr=(self.source, 0) if self.source else None)
        assert self.reader is not None and self.writer is not None
        self.writer.write(data)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie" and value.strip().startswith(VISITOR_COOKIE + "="):
                self.cookie = value.strip().split(";")[0].split("=", 1)[1]
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


class HttpxClient:
    def __init__(self, url: str) -> None:
        # verify=False: no TLS here, and loading the CA bundle costs ~40 ms per client.
        self.client = httpx.AsyncClient(base_url=url, timeout=30, verify=False,
                                        headers={"User-Agent": READER})

    @property
    def cookie(self) -> str | None:
        return self.client.cookies.get(VISITOR_COOKIE)

    @cookie.setter
    def cookie(self, value: str | None) -> None:
        self.client.cookies.clear()

    async def post_json(self, path: str, payload: dict[str, object]) -> int:
        return (await self.client.post(path, json=payload)).status_code

    async def close(self) -> None:
        await self.client.aclose()


async def client_loop(client: RawClient | HttpxClient, articles: list[tuple[str, str, int]],
                      deadline: float, tally: Tally, signer: Signer, secret: str) -> None:
    rng = random.Random()
    try:
        while time.monotonic() < deadline:
            lang, slug, article_id = rng.choice(articles)
            client.cookie = None  # a new visitor: the server issues the cookie with the first answer
            helpful = rng.random() < 0.7
            visitor = None
            for attempt in (helpful, not helpful):  # a new vote, then a change of it
                started = time.perf_counter()
                try:
                    status = await client.post_json(f"/api/v1/articles/{lang}/{slug}/votes",
                                                    {"helpful": attempt})
                except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                    tally.errors[type(exc).__name__] = tally.errors.get(type(exc).__name__, 0) + 1
                    return
                tally.latencies.append(time.perf_counter() - started)
                if status not in (200, 201):
                    tally.errors[str(status)] = tally.errors.get(str(status), 0) + 1
                    break
                if visitor is None:
                    assert client.cookie is not None
                    visitor = visitor_hash(secret, signer.unsign(client.cookie).decode())
                tally.acked[(visitor, lang, article_id)] = attempt
                if status == 201:
                    tally.created += 1
                else:
                    tally.changed += 1
    finally:
        await client.close()


async def baseline(port: int, clients: int, seconds: float) -> float:
    """Requests per second of GET /healthz (no database write) with the same load generator."""
    count = 0
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal count
        client = RawClient("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                if await client.get("/healthz") == 200:
                    count += 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return count / (time.perf_counter() - started)


def server_stack() -> str:
    fast = importlib.util.find_spec("httptools") and importlib.util.find_spec("uvloop")
    return "httptools + uvloop" if fast else "h11 + asyncio (httptools/uvloop missing: reinstall kb)"


async def run(url: str, port: int, clients: int, seconds: float, secret: str,
              use_httpx: bool) -> tuple[Tally, float]:
    async with httpx.AsyncClient(base_url=url) as client:
        listing = (await client.get("/api/v1/articles", params={"limit": 100})).json()["results"]
    articles = [(a["lang"], a["slug"], a["id"]) for a in listing]
    signer = Signer(secret, salt="kb.visitor")
    tally = Tally()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    pool = [HttpxClient(url) if use_httpx else RawClient("127.0.0.1", port) for _ in range(clients)]
    await asyncio.gather(*(client_loop(c, articles, deadline, tally, signer, secret) for c in pool))
    return tally, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_votes(database: Path) -> tuple[dict[tuple[str, str, int], bool], int, int]:
    with sqlite3.connect(database) as conn:
        rows = {(v, lang, int(a)): bool(h) for v, lang, a, h in
                conn.execute("SELECT visitor, lang, article_id, helpful FROM votes")}
        count = conn.execute("SELECT count(*) FROM votes").fetchone()[0]
        tallied = conn.execute("SELECT coalesce(sum(yes + no), 0) FROM vote_tallies").fetchone()[0]
    return rows, int(count), int(tallied)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--httpx", action="store_true", help="drive the load with httpx.AsyncClient")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        secret = secrets.token_urlsafe(32)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(data_dir, secret, port)
        try:
            wait_ready(url, server)
            reference = asyncio.run(baseline(port, args.clients, min(3.0, args.seconds)))
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            tally, elapsed = asyncio.run(run(url, port, args.clients, args.seconds, secret, args.httpx))
            server_cpu = cpu_seconds(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        stored, count, tallied = stored_votes(data_dir / "kb.sqlite3")
    acknowledged = tally.created + tally.changed
    latencies = sorted(tally.latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0.0
    lost = [key for key, helpful in tally.acked.items() if stored.get(key) != helpful]
    extra = [key for key in stored if key not in tally.acked]
    client = "httpx.AsyncClient" if args.httpx else "raw keep-alive HTTP/1.1"
    print(f"cpus: {os.cpu_count()}, load average before: {load[0]:.1f}, server: uvicorn with {server_stack()}")
    print(f"clients: {args.clients} ({client}), duration: {elapsed:.1f} s")
    print(f"acknowledged votes: {acknowledged} ({tally.created} new, {tally.changed} changed), "
          f"errors: {tally.errors or 'none'}")
    print(f"throughput: {acknowledged / elapsed:.0f} acknowledged votes/s "
          f"(baseline GET /healthz, no write: {reference:.0f} requests/s; ratio {acknowledged / elapsed / reference:.2f})")
    print(f"latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"cpu: server {server_cpu / elapsed:.2f} cores, load generator {client_cpu / elapsed:.2f} cores")
    print(f"stored rows: {count} (distinct acknowledged votes: {len(tally.acked)}), tallies: {tallied}")
    ok = not lost and not extra and count == len(tally.acked) == tally.created and tallied == count
    print(f"check acknowledged == stored: {'OK' if ok else 'FAILED'} "
          f"(lost or wrong value: {len(lost)}, unexpected: {len(extra)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
