"""Fixtures: apps built in-process from temporary content, data and index folders.

The suite builds a few hundred apps on a 2-core machine, so three things keep it fast without
changing what a test sees:
- passwords are hashed with argon2-cffi's cheapest parameters (kb.auth.PASSWORD_HASHING), as
  every Auth also hashes a decoy at start;
- the sample content's search index is built once per session and copied next to each private
  copy of the sample (`sample_tree`): the app opens it as current instead of building its own;
- tests that only read the sample site share one app (`sample_client`), which refuses writes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self, cast

import argon2
import httpx
import pytest
import uvicorn
import yaml
from hypothesis import settings as hypothesis_settings
from starlette.applications import Starlette
from starlette.testclient import TestClient

import kb.auth
from kb.config import PROJECT_ROOT, Settings, load_settings
from kb.storage.db import Database
from kb.web.app import create_app
from kb.web.services import Services
from tests.pg_cluster import INSTALL_HINT, Cluster, find_binaries, migrate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.browser.support import Tabs

# pytest keeps each test module's assert-rewritten code in __pycache__ (checked against the
# source) unless bytecode writing is off, as PYTHONDONTWRITEBYTECODE=1 turns it: then every
# process (each xdist worker) rewrites every module again, about 4 s of CPU per worker.
sys.dont_write_bytecode = False

TMPFS = Path("/dev/shm")
TMPFS_NEEDED = 4 * 2**30  # bytes free: a whole run leaves ~45,000 files, a few hundred MB


def pytest_configure(config: pytest.Config) -> None:
    """tmp_path and its siblings on a tmpfs when there is one with room (unless --basetemp or
    PYTEST_DEBUG_TEMPROOT says where): pytest keeps the last three runs' folders and deletes
    the oldest at the end of each session, which on this machine's disk took 1.9 ms per file,
    about 90 s for one whole run's folder; on tmpfs it takes a second. Renames, locks, file
    notifications and memory maps behave as on disk."""
    if config.option.basetemp or "PYTEST_DEBUG_TEMPROOT" in os.environ or not TMPFS.is_dir():
        return
    free = os.statvfs(TMPFS)
    if os.access(TMPFS, os.W_OK) and free.f_bavail * free.f_frsize >= TMPFS_NEEDED:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(TMPFS)

SAMPLE_CONTENT = PROJECT_ROOT / "articles"

CATEGORIES = {
    "billing": {"order": 1, "parent": None,
                "title": {"en": "Billing", "pt": "Faturação", "fr": "Facturation"},
                "description": {"en": "Invoices and payments", "fr": "Factures et paiements"}},
    "refunds": {"order": 1, "parent": "billing", "title": {"en": "Refunds", "fr": "Remboursements"}},
    "accounts": {"order": 2, "parent": None, "title": {"en": "Accounts", "fr": "Comptes"}},
}

# Property tests are deterministic: the same examples on every machine and every run (no
# example database carried between runs, no deadline on a busy 2-core box).
hypothesis_settings.register_profile("kb", derandomize=True, deadline=None, database=None)
hypothesis_settings.load_profile("kb")


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


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2 at its cheapest: what is tested is that passwords are argon2id hashes, checked."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kb.auth, "PASSWORD_HASHING", argon2.profiles.CHEAPEST)
        yield


@pytest.fixture
def tree(tmp_path: Path) -> ContentTree:
    return ContentTree(tmp_path / "articles")


def settings_for(tmp_path: Path, content_dir: Path, **overrides: Any) -> Settings:
    values = {"content_dir": content_dir, "index_dir": tmp_path / "index", "data_dir": tmp_path / "data",
              "allowed_hosts": "testserver,localhost,127.0.0.1,::1"}  # testserver: TestClient's host
    values.update(overrides)
    return load_settings(values, environ={})


def services_of(client: TestClient) -> Services:
    """The typed services of a test client's app (create_app keeps them on app.state.kb)."""
    return cast(Services, cast(Starlette, client.app).state.kb)


def started(app: Starlette) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    return client


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample content's search index, built once by an app that then closes."""
    root = tmp_path_factory.mktemp("sample-index")
    content = root / "articles"
    shutil.copytree(SAMPLE_CONTENT, content)
    client = started(create_app(settings_for(root, content)))
    try:
        deadline = time.monotonic() + 60
        while client.get("/healthz").json()["search"] != "ok":
            assert time.monotonic() < deadline, "the sample index was not built within 60 s"
            time.sleep(0.02)
    finally:
        client.__exit__(None, None, None)  # waits for the index writer
    return root / "index"


def copy_sample(target: Path, sample_index: Path) -> Path:
    """target/articles: a copy of the sample content; target/index: its index, current for it
    (an article's fingerprint is its bytes' hash, so the app opens it and writes nothing)."""
    shutil.copytree(SAMPLE_CONTENT, target / "articles")
    shutil.copytree(sample_index, target / "index")
    return target / "articles"


@pytest.fixture
def sample_tree(tmp_path: Path, sample_index: Path) -> Path:
    """A private copy of the shipped sample content, with its search index in tmp_path/index."""
    return copy_sample(tmp_path, sample_index)


class MakeClient(Protocol):
    def __call__(self, content_dir: Path, **overrides: Any) -> TestClient: ...


@pytest.fixture(scope="session")
def messages_pot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The messages of the code and templates as `pybabel extract` finds them (babel.cfg), once
    for the session's catalog tests (an extraction walks the whole checkout: ~2 s of CPU)."""
    pot = tmp_path_factory.mktemp("catalog") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-o", str(pot), "--no-location", "."], cwd=PROJECT_ROOT, check=True, capture_output=True)
    return pot


# The catalog tests share one extraction: on one xdist worker.
catalog_tests = pytest.mark.xdist_group("catalog")


# --- the database: SQLite by default, PostgreSQL for the tests that exercise SQL ----------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the session (tests/pg_cluster.py). Without the
    binaries the tests that need it skip, saying how to install them; under CI=true they fail."""
    binaries = find_binaries()
    if binaries is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{INSTALL_HINT} (CI=true: PostgreSQL tests must not skip)")
        pytest.skip(INSTALL_HINT)
    cluster = Cluster(binaries)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A migrated PostgreSQL database without a row for one test: the worker's, emptied before
    each test (a copy of the template per test cost the server six times the CPU)."""
    return pg_cluster.empty_database()


DIALECTS = ["sqlite", "postgresql"]


def database_for(request: pytest.FixtureRequest) -> str | None:
    """For a module's `database_url = pytest.fixture(params=DIALECTS)(database_for)`: its tests
    run once on SQLite (None: the data folder's file) and once on a fresh PostgreSQL database."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
def database_url() -> str | None:
    """The database of the test's apps (make_client); None is SQLite in the data folder."""
    return None


@pytest.fixture
async def db(database_url: str | None, tmp_path: Path) -> AsyncIterator[Database]:
    """An opened, migrated Database of the test's dialect (see `database_url`), closed after."""
    database = Database(database_url or tmp_path / "kb.sqlite3")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every migration applied (and closed: no WAL beside it)."""
    path = tmp_path_factory.mktemp("sqlite") / "kb.sqlite3"
    migrate(path)
    return path


@pytest.fixture
def make_client(tmp_path: Path, database_url: str | None, migrated_sqlite: Path) -> Iterator[MakeClient]:
    """make_client(content_dir, **settings) -> a started TestClient (closed after the test).
    A SQLite database that does not exist yet starts as a copy of `migrated_sqlite` (what its
    own migrations would make, without their 10 ms of CPU per app); Database.open still checks
    its version."""
    clients: list[TestClient] = []

    def make(content_dir: Path, **overrides: Any) -> TestClient:
        if database_url is not None:
            overrides.setdefault("database", database_url)
        settings = settings_for(tmp_path, content_dir, **overrides)
        if isinstance(settings.database, Path) and not settings.database.exists():
            settings.database.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_sqlite, settings.database)
        clients.append(started(create_app(settings)))
        return clients[-1]

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient, sample_tree: Path) -> TestClient:
    """A fresh app over a private copy of the sample: for tests that vote, log in, edit, count."""
    return make_client(sample_tree)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _refuse_writes(request: httpx.Request) -> None:
    if request.method not in READ_METHODS:
        raise AssertionError(f"sample_client is shared and read-only: use `client` to {request.method}")


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[TestClient]:
    content = copy_sample(tmp_path_factory.mktemp("sample-site"), sample_index)
    client = started(create_app(settings_for(content.parent, content)))
    client.event_hooks["request"] = [_refuse_writes]
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def sample_client(sample_site: TestClient) -> TestClient:
    """The one app of the session over the sample content, for tests that only read it (pages,
    API reads, searches). It answers GET, HEAD and OPTIONS only; each test starts without cookies,
    as a new visitor. Page views and searches it logs are shared: count them on `client`."""
    sample_site.cookies.clear()
    return sample_site


# --- a real server, for browsers and process-level tests ------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReadOnly:
    """ASGI wrapper of a shared server: reads pass; a write is refused (405) and noted, so that
    the test which sent it fails (`sample_server`) instead of changing what later tests see."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] not in READ_METHODS:
            self.refused.append(f"{scope['method']} {scope['path']}")
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"this shared test server is read-only"})
            return
        await self.app(scope, receive, send)


AXE_URL = "/__tests__/axe.min.js"


class ServedAssets:
    """ASGI wrapper of every test server: it serves axe-core's script at AXE_URL (the script of
    axe-playwright-python), so that a browser test adds it to a page as a same-origin, cacheable
    <script> (the pages' CSP allows 'self'): Chromium then compiles it once, not once per check
    (tests.browser.support.axe_violations)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.axe = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != AXE_URL:
            await self.app(scope, receive, send)
            return
        if not self.axe:
            from axe_playwright_python.base import AXE_FILE_PATH

            self.axe = AXE_FILE_PATH.read_bytes()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/javascript; charset=utf-8"),
                                (b"cache-control", b"public, max-age=86400, immutable")]})
        await send({"type": "http.response.body", "body": self.axe})


class LiveServer:
    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        self.settings = settings
        # The socket is bound here and handed to uvicorn: no other process (an xdist worker, a
        # parallel server) can take the port between choosing it and listening on it.
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        app: Any = create_app(settings)
        self.app = app  # the kb app itself, inside the wrappers uvicorn is given
        self.guard = ReadOnly(app) if read_only else None
        config = uvicorn.Config(ServedAssets(self.guard or app), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> Self:
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
        self.socket.close()


@pytest.fixture
def live_server(tmp_path: Path, sample_tree: Path) -> Iterator[LiveServer]:
    """A server of its own over a private copy of the sample: for browser tests that vote, sign
    in, edit or add users."""
    with LiveServer(settings_for(tmp_path, sample_tree)) as server:
        yield server


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[LiveServer]:
    """A server of its own for one test module, over a private copy of the sample: for browser
    tests that write (vote, sign in, edit, save) each as its own visitor, on its own article or
    with writes no other test of the module reads. One start and stop per module instead of one
    per test (about 0.5 s of a busy 2-core machine each)."""
    content = copy_sample(tmp_path_factory.mktemp("module-server"), sample_index)
    with LiveServer(settings_for(content.parent, content)) as server:
        yield server


@pytest.fixture(scope="session")
def shared_sample_server(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[LiveServer]:
    content = copy_sample(tmp_path_factory.mktemp("sample-server"), sample_index)
    with LiveServer(settings_for(content.parent, content), read_only=True) as server:
        yield server


@pytest.fixture
def sample_server(shared_sample_server: LiveServer) -> Iterator[LiveServer]:
    """The one server of the session over the sample content, for browser tests that only read
    it (pages, searches, suggestions, axe-core): a write is refused and fails the test that sent
    it. Each test's tab starts without cookies, as a new visitor; page views and searches it logs are
    shared."""
    guard = shared_sample_server.guard
    assert guard is not None
    guard.refused.clear()
    yield shared_sample_server
    assert not guard.refused, f"sample_server is shared and read-only: use live_server to {guard.refused}"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (no browser download is possible here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def tabs(browser: Browser) -> Iterator[Tabs]:
    """The session's tabs, one with JavaScript and one without, reset between tests
    (tests.browser.support.Tabs: a new tab costs a renderer process)."""
    from tests.browser.support import Tabs

    handed = Tabs(browser)
    yield handed
    handed.close()


TEST_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Notes a failed setup or call on the test, for fixtures that must not hand its state on."""
    report = yield
    if report.failed:
        item.stash[TEST_FAILED] = True
    return report


def _tab(tabs: Tabs, request: pytest.FixtureRequest, **options: Any) -> Iterator[Page]:
    page = tabs.take(**options)
    yield page
    tabs.give_back(page, failed=request.node.stash.get(TEST_FAILED, False))


@pytest.fixture
def page(tabs: Tabs, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab with JavaScript, as a new visitor sees it, 1280 x 720."""
    yield from _tab(tabs, request)


@pytest.fixture
def sized_page(tabs: Tabs, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab with the viewport (width, height) given by indirect parametrization."""
    yield from _tab(tabs, request, viewport=request.param)


@pytest.fixture
def page_without_js(tabs: Tabs, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab with JavaScript turned off."""
    yield from _tab(tabs, request, javascript=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop in the main thread
    for the whole session, which the async tests must not share (each xdist worker runs what it
    is sent in collection order). A group of tests pinned to one worker (the wheel's: the
    longest fixture of the suite) starts first, so the other worker's share hides it."""
    items.sort(key=lambda item: (item.get_closest_marker("browser") is not None,
                                 item.get_closest_marker("xdist_group") is None))
