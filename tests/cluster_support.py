"""Real `kb serve` nodes for the cluster tests: each its own process, clone, index and data folder.

Accounts are made from the test process through kb.auth, as `kb user add` makes them but with
the session's cheap argon2 parameters (tests/conftest.py): a node verifies any argon2id hash (the
parameters are in it) and rehashes it with its own at the first login."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import httpx

from kb.auth import Auth
from kb.config import load_settings
from kb.storage.db import run_with_database
from tests.admin_support import PASSWORD, csrf
from tests.conftest import free_port

START_TIMEOUT = 90.0


class Node:
    """`kb serve` in a subprocess; `env` adds KB_* settings (KB_CONTENT_REMOTE, KB_DATABASE, ...)."""

    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        self.folder = folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.folder / "serve.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        self.env = {**base, "KB_CONTENT_DIR": str(self.folder / "articles"), "KB_INDEX_DIR": str(self.folder / "index"),
                    "KB_DATA_DIR": str(self.folder / "data"), "KB_PORT": str(self.port), **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=20, follow_redirects=False)

    def kb(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run([sys.executable, "-m", "kb.cli", *args], input=stdin, capture_output=True,
                                text=True, env=self.env, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def __enter__(self) -> Self:
        self.start()
        return self.ready()

    def start(self) -> None:
        if self.http.is_closed:  # started again after kill()
            self.http = httpx.Client(base_url=self.url, timeout=20, follow_redirects=False)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve"], env=self.env,
                                            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)

    def ready(self) -> Self:
        """Once the node answers with its search index built."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process.poll() is None, f"node {self.name} exited:\n{self.log.read_text()[-4000:]}"
            try:
                if self.http.get("/healthz").json()["search"] == "ok":
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"node {self.name} not ready:\n{self.log.read_text()[-4000:]}"
            time.sleep(0.1)

    def new_browser(self) -> None:
        """A fresh client: no visitor or session cookie from an earlier test."""
        self.http.close()
        self.http = httpx.Client(base_url=self.url, timeout=20, follow_redirects=False)

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.wait()

    def stop(self) -> None:
        self.http.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """`kill -9`: no shutdown at all, as when a machine dies; `with node:` starts it again."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.http.close()

    def log_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        page = self.http.get("/admin/login")
        return self.http.post("/admin/login", data={"csrf_token": csrf(page.text), "name": name,
                                                    "password": password, "next": ""})

    def add_user(self, name: str, role: str = "editor", password: str = PASSWORD) -> None:
        """`kb user add` on this node's database, from the test process (cheap hashing)."""
        settings = load_settings(environ=self.env)
        run_with_database(settings.database, lambda db: Auth(settings, db).add_user(name, password, role))

    def sign_in(self, name: str, role: str = "editor") -> None:
        """A new account on this node's database, signed in on `self.http`."""
        self.add_user(name, role)
        response = self.log_in(name)
        assert response.status_code == 303, response.text


@contextlib.contextmanager
def running(*nodes: Node) -> Iterator[tuple[Node, ...]]:
    """The nodes started together (a cluster's nodes start at once too), stopped together."""
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.ready()
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        for node in nodes:
            node.wait()


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition()` is true; fails past `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started
