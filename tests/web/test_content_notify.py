"""Nodes told of a push fetch it at once: the content notifier over Database.notify/listen
(PostgreSQL LISTEN/NOTIFY between nodes; in one process on SQLite). Each node here is a
ContentRemote clone with a RemoteFollower whose poll would take an hour."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kb.content.files import file_revision
from kb.content.remote import ContentRemote, DatabaseNotifier, RemoteFollower, author_of, git
from kb.storage.db import Database
from tests.conftest import ContentTree
from tests.web.test_content_remote import ARTICLE, BRANCH, make_remote


@pytest.fixture
def remote(tmp_path: Path, tree: ContentTree) -> Path:
    return make_remote(tmp_path, tree)


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Where each of the two nodes keeps its state: one SQLite file (one process), or one
    PostgreSQL database reached by two connections (two nodes)."""
    if request.param == "sqlite":
        return str(tmp_path / "kb.sqlite3"), ""
    url = str(request.getfixturevalue("pg_url"))
    return url, url


async def test_a_node_told_of_a_push_fetches_it_without_waiting_for_its_poll(
        tmp_path: Path, remote: Path, databases: tuple[str, str]) -> None:
    first = Database(databases[0])
    await first.open()
    second = first
    if databases[1]:
        second = Database(databases[1])
        await second.open()
    arrived = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: list[frozenset[Path] | None] = []

    def reload(changed: frozenset[Path] | None) -> None:  # in a thread, as Site.load is
        reloads.append(changed)
        loop.call_soon_threadsafe(arrived.set)

    a, b = ContentRemote(tmp_path / "a", str(remote)), ContentRemote(tmp_path / "b", str(remote))
    await asyncio.gather(asyncio.to_thread(a.prepare), asyncio.to_thread(b.prepare))
    writer = RemoteFollower(a, 3600, lambda changed: None, DatabaseNotifier(first))
    reader = RemoteFollower(b, 3600, reload, DatabaseNotifier(second))
    await writer.start()
    await reader.start()
    try:
        text = (a.root / ARTICLE).read_text().replace("30 days", "90 days")
        await asyncio.to_thread(a.write, a.root / ARTICLE, text, file_revision((a.root / ARTICLE).read_bytes()),
                                tmp_path / "editor.lock", author=author_of("dana"), message="90 days")
        await writer.pushed()
        await asyncio.wait_for(arrived.wait(), 10)
        assert reloads == [frozenset({Path(ARTICLE)})]
        assert "90 days" in (b.root / ARTICLE).read_text()
        assert git(b.root, "rev-parse", "HEAD").stdout == git(remote, "rev-parse", BRANCH).stdout
    finally:
        await writer.stop()
        await reader.stop()
        await first.close()
        if second is not first:
            await second.close()

