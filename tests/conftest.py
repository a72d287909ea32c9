"""Fixtures: apps built in-process from temporary content, data and index folders."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from starlette.testclient import TestClient

from kb.config import PROJECT_ROOT, Settings, load_settings
from kb.web.app import create_app

SAMPLE_CONTENT = PROJECT_ROOT / "articles"

CATEGORIES = {
    "billing": {"order": 1, "parent": None,
                "title": {"en": "Billing", "pt": "Faturação", "fr": "Facturation"},
                "description": {"en": "Invoices and payments", "fr": "Factures et paiements"}},
    "refunds": {"order": 1, "parent": "billing", "title": {"en": "Refunds", "fr": "Remboursements"}},
    "accounts": {"order": 2, "parent": None, "title": {"en": "Accounts", "fr": "Comptes"}},
}


class ContentTree:
    """A content folder a test writes articles into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.write_categories(CATEGORIES)

    def write_categories(self, categories: dict[str, Any]) -> None:
        (self.root / "categories.yaml").write_text(yaml.safe_dump(categories, allow_unicode=True), encoding="utf-8")

    def add(self, lang: str, slug: str, *, body: str = "Some answer.", folder: str | None = None,
            **fields: Any) -> Path:
        meta: dict[str, Any] = {
            "id": 1, "title": slug.replace("-", " ").capitalize(), "summary": f"About {slug}.",
            "category": "billing", "tags": [], "type": "faq", "status": "published",
            "updated": "2026-01-15",
        }
        meta.update(fields)
        meta = {k: v for k, v in meta.items() if v is not None}
        path = self.root / lang / (folder or str(meta.get("category", "misc"))) / f"{slug}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body,
                        encoding="utf-8")
        return path


@pytest.fixture
def tree(tmp_path: Path) -> ContentTree:
    return ContentTree(tmp_path / "articles")


@pytest.fixture
def sample_tree(tmp_path: Path) -> Path:
    """A private copy of the shipped sample content."""
    target = tmp_path / "articles"
    shutil.copytree(SAMPLE_CONTENT, target)
    return target


def settings_for(tmp_path: Path, content_dir: Path, **overrides: Any) -> Settings:
    values = {"content_dir": content_dir, "index_dir": tmp_path / "index", "data_dir": tmp_path / "data",
              "allowed_hosts": "testserver,localhost,127.0.0.1,::1"}  # testserver: TestClient's host
    values.update(overrides)
    return load_settings(values, environ={})


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """make_client(content_dir, **settings) -> a started TestClient (closed after the test)."""
    clients: list[TestClient] = []

    def make(content_dir: Path, **overrides: Any) -> TestClient:
        app = create_app(settings_for(tmp_path, content_dir, **overrides))
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], sample_tree: Path) -> TestClient:
    return make_client(sample_tree)


# --- a real server, for browsers and process-level tests ------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live_server(tmp_path: Path, sample_tree: Path) -> Iterator[LiveServer]:
    with LiveServer(settings_for(tmp_path, sample_tree)) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download is possible here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser: Any) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop in the main thread
    for the whole session, which the async tests must not share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
