"""A vote that got a 2xx is on disk: kill the server with SIGKILL under load, restart, count."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from kb.config import PROJECT_ROOT
from tests.conftest import free_port

SLUGS = ["support-code-and-vip-code", "premium-support-limits", "premium-support-commitment",
         "upgrade-premium-support"]


class Server:
    """`uvicorn --factory kb.web.app:app_from_environment` in its own process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "kb.web.app:app_from_environment",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode() if self.process.stderr else "exited")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("the server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        if self.process.stderr:
            self.process.stderr.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.stderr:
                self.process.stderr.close()


async def visitor_loop(url: str, stop: asyncio.Event, acked: dict[str, tuple[str, bool]],
                       pending: dict[str, bool], outcome: dict[str, int], seed: int) -> None:
    """Like a reader: open an article (which hands out the visitor cookie), vote, maybe change it."""
    rng = random.Random(seed)
    # A browser's user agent: httpx's own is a script's, whose votes no tally counts.
    agent = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
    async with httpx.AsyncClient(base_url=url, timeout=10, verify=False, headers=agent) as client:
        while not stop.is_set():
            client.cookies.clear()
            slug = rng.choice(SLUGS)
            try:
                await client.get(f"/en/articles/{slug}")
                cookie = client.cookies["kb_visitor"]
                for helpful in [rng.random() < 0.6] + ([False] if rng.random() < 0.5 else []):
                    pending[cookie] = helpful
                    response = await client.post(f"/api/v1/articles/en/{slug}/votes", json={"helpful": helpful})
                    assert response.status_code in (200, 201), response.text
                    del pending[cookie]
                    acked[cookie] = (slug, helpful)
                    outcome["acked"] += 1
            except (httpx.HTTPError, KeyError):
                outcome["failed"] += 1  # the server is gone: this answer never came
                return


async def run_until_killed(server: Server, acked: dict[str, tuple[str, bool]], pending: dict[str, bool],
                           outcome: dict[str, int]) -> None:
    stop = asyncio.Event()
    clients = [asyncio.create_task(visitor_loop(server.url, stop, acked, pending, outcome, seed))
               for seed in range(40)]
    deadline = time.monotonic() + 20
    while outcome["acked"] < 400 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    server.kill()  # mid-load: most clients are waiting for an answer right now
    await asyncio.wait_for(asyncio.gather(*clients), timeout=30)


async def votes_served(url: str, acked: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    """Each acknowledged visitor's vote as the restarted server answers it, asked by 16 clients
    at once (each one's cookie jar holds the visitor it asks for)."""
    found: dict[str, Any] = {}
    cookies = list(acked)

    async def ask(share: list[str]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for cookie in share:
                client.cookies.set("kb_visitor", cookie)
                response = await client.get(f"/api/v1/articles/en/{acked[cookie][0]}/votes")
                found[cookie] = response.json()["vote"]

    await asyncio.gather(*(ask(cookies[lane::16]) for lane in range(16)))
    return found


def test_every_acknowledged_vote_survives_a_killed_server(tmp_path: Path, sample_tree: Path) -> None:
    env = dict(os.environ, KB_CONTENT_DIR=str(sample_tree), KB_DATA_DIR=str(tmp_path / "data"),
               KB_INDEX_DIR=str(tmp_path / "index"), KB_SECRET_KEY="durability-test-secret-key",
               KB_VOTE_RATE_LIMIT="1000000", KB_WATCH_SECONDS="3600")
    acked: dict[str, tuple[str, bool]] = {}  # visitor cookie -> (slug, last acknowledged vote)
    pending: dict[str, bool] = {}  # visitor cookie -> vote sent when the server died
    outcome = {"acked": 0, "failed": 0}
    server = Server(env)
    asyncio.run(run_until_killed(server, acked, pending, outcome))
    assert outcome["acked"] >= 400, outcome
    assert outcome["failed"] > 0, "the server must die while clients are waiting"

    restarted = Server(env)
    try:
        votes = asyncio.run(votes_served(restarted.url, acked))
        with httpx.Client(base_url=restarted.url, timeout=10) as client:
            served = {slug: client.get(f"/api/v1/articles/en/{slug}/votes").json()["total"] for slug in SLUGS}
    finally:
        restarted.stop()
    for cookie, (slug, helpful) in acked.items():
        vote = votes[cookie]
        assert vote is not None, f"an acknowledged vote was lost ({slug})"
        # a change sent as the server died may or may not have been committed
        assert vote["helpful"] in {helpful, pending.get(cookie, helpful)}

    with sqlite3.connect(tmp_path / "data" / "kb.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_slug = dict(conn.execute("SELECT slug, count(*) FROM votes GROUP BY slug").fetchall())
        twice = conn.execute("SELECT count(*) FROM (SELECT 1 FROM votes GROUP BY visitor, lang, article_id "
                             "HAVING count(*) > 1)").fetchone()[0]
        tallied = conn.execute("SELECT coalesce(sum(yes + no), 0) FROM vote_tallies").fetchone()[0]
    assert twice == 0  # none counted twice
    stored = sum(per_slug.values())
    # every acknowledged visitor is there; at most the votes in flight at the kill were added
    assert len(acked) <= stored <= len(acked) + len(pending)
    assert tallied == stored
    assert served == {slug: per_slug.get(slug, 0) for slug in SLUGS}
