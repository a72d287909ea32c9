"""Two `kb serve` nodes on one git remote: publish on node A -> visible on node B.

Makes a bare git repository of the sample content, starts two nodes (separate processes, clones,
index and data folders, the same KB_SECRET_KEY), signs an editor in on A and publishes a change to
one article N times through /admin. For each round it measures the time from the publish's answer
until (1) B's article page shows the change and (2) B's search finds it. Goal: median <= 2 s.

B learns about the push from its poll (KB_CONTENT_POLL_SECONDS, 5 by default) or, with a shared
PostgreSQL database (--database postgresql://...), from LISTEN/NOTIFY at once. The acknowledged
votes/s part of issue 12 needs that database too: without it this script says so.

    python bench/cluster.py [--rounds 10] [--poll 5] [--database postgresql://...]
"""

from __future__ import annotations

import argparse
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
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 123"
EDIT = "/admin/articles/en/how-to-search"
PAGE = "/en/articles/how-to-search"
GOAL = 2.0


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@kb.invalid",
                        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@kb.invalid"})


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def form_fields(html: str) -> dict[str, str]:
    form = BeautifulSoup(html, "html.parser").find("form", id="article-form")
    values: dict[str, str] = {}
    for field in form.find_all(["input", "textarea", "select"]):  # type: ignore[union-attr]
        name = field.get("name")
        if not name or field.get("type") in ("submit", "button"):
            continue
        if field.name == "textarea":
            values[name] = field.get_text().removeprefix("\n")
        elif field.name == "select":
            chosen = field.find("option", selected=True) or field.find("option")
            values[name] = chosen.get("value", "") if chosen else ""
        else:
            values[name] = field.get("value", "")
    return values


class Node:
    def __init__(self, work: Path, name: str, env: dict[str, str]) -> None:
        folder = work / name
        folder.mkdir()
        self.port = free_port()
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
        self.process.wait(timeout=30)
        self.log.close()


def until(condition: object, started: float, limit: float = 30.0) -> float:
    assert callable(condition)
    while not condition():
        if time.perf_counter() - started > limit:
            raise SystemExit(f"not visible on node B within {limit:.0f} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--poll", type=float, default=5.0, help="KB_CONTENT_POLL_SECONDS of the nodes")
    parser.add_argument("--database", default="", help="a shared KB_DATABASE (postgresql://...) for both nodes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        seed = work / "seed"
        shutil.copytree(ROOT / "articles", seed)
        git(seed, "init", "--quiet", "-b", "main")
        git(seed, "add", "--all")
        git(seed, "commit", "--quiet", "-m", "sample content")
        git(work, "clone", "--quiet", "--bare", str(seed), str(work / "remote.git"))
        shared = {"KB_CONTENT_REMOTE": str(work / "remote.git"), "KB_SECRET_KEY": secrets.token_urlsafe(32),
                  "KB_CONTENT_POLL_SECONDS": str(args.poll), "KB_ALLOWED_HOSTS": "*"}
        if args.database:
            shared["KB_DATABASE"] = args.database
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
            for number in range(args.rounds):
                word = f"clusterword{number}x"
                values = form_fields(a.http.get(EDIT).text)
                values["body"] = values["body"].rstrip() + f"\n\nMarker {word}.\n"
                # A publish comes at any moment of B's poll cycle: without this wait every round would
                # start just after B's last fetch (the previous round ends there) and wait a whole cycle.
                time.sleep(random.uniform(0, args.poll))
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

    print(f"{args.rounds} publishes on node A, KB_CONTENT_POLL_SECONDS={args.poll:g}, "
          f"notifications: {'PostgreSQL LISTEN/NOTIFY' if args.database else 'none (SQLite per node)'}")
    print(f"publish on A (write, commit, push, reload)  {ms(saves)}")
    print(f"publish on A -> B's page shows it          {ms(pages)}")
    print(f"publish on A -> B's search finds it        {ms(searches)}")
    median = statistics.median(pages)
    print(f"goal: median publish -> visible on the other node <= {GOAL * 1000:.0f} ms -> "
          f"{'met' if median <= GOAL else 'NOT met'}")
    if not args.database:
        print("acknowledged votes/s over two nodes: needs a shared PostgreSQL database (--database); not measured")


if __name__ == "__main__":
    main()
