"""When SQLite cannot write (locked past the busy timeout, disk full), a vote gets a 503 with
Retry-After, the log gets one line, and every waiting request gets its answer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from kb.storage import db as storage_db
from kb.storage import sqlite as storage_sqlite
from kb.storage.db import DatabaseUnavailable

ARTICLE = "/en/articles/support-code-and-vip-code"
VOTES = "/api/v1/articles/en/support-code-and-vip-code/votes"
PT_ARTICLE = "/pt/articles/codigo-de-suporte-e-codigo-vip"


@pytest.fixture
def client(make_client: Any, sample_tree: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    # A short busy timeout, read when the app opens its connections: a held lock fails fast.
    monkeypatch.setattr(storage_sqlite, "BUSY_TIMEOUT_MS", 50)
    made: TestClient = make_client(sample_tree)
    return made


@pytest.fixture
def lock(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection, ready to hold the write lock with BEGIN IMMEDIATE."""
    conn = sqlite3.connect(tmp_path / "data" / "kb.sqlite3", isolation_level=None, timeout=5)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(("kb", "uvicorn"))]


def votes_in_db(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "data" / "kb.sqlite3") as conn:
        return int(conn.execute("SELECT count(*) FROM votes").fetchone()[0])


def test_a_vote_while_the_database_is_locked_is_a_503_with_retry_after_and_one_log_line(
        client: TestClient, lock: sqlite3.Connection, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    lock.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.WARNING):
        refused = client.post(VOTES, json={"helpful": True})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(storage_db.RETRY_BUSY_SECONDS)
    assert refused.json() == {"error": "the database is busy; try again in a moment"}
    (record,) = problems(caplog)
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert "database is locked" in record.getMessage()
    lock.execute("ROLLBACK")
    assert client.post(VOTES, json={"helpful": True}).status_code == 201
    assert votes_in_db(tmp_path) == 1
    document = client.get("/api/v1/openapi.json").json()
    documented = document["paths"]["/api/v1/articles/{lang}/{slug}/votes"]["post"]["responses"]["503"]
    assert "Retry-After" in documented["headers"]


def test_every_vote_of_a_failed_group_gets_its_own_503(client: TestClient, lock: sqlite3.Connection,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    feedback = client.app.state.kb.feedback  # type: ignore[attr-defined]
    site = client.app.state.kb.site  # type: ignore[attr-defined]
    article = site.article("en", "support-code-and-vip-code")
    from kb.feedback import Choice

    async def five_at_once() -> list[Any]:
        # Cast in one loop turn: the five votes wait for the same group, written as one op.
        return await asyncio.gather(*(feedback.cast(article, f"visitor-{n}", Choice(True)) for n in range(5)),
                                    return_exceptions=True)

    lock.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.WARNING):
        answers = client.portal.call(five_at_once)
    assert all(isinstance(answer, DatabaseUnavailable) for answer in answers)
    assert len({id(answer) for answer in answers}) == 5  # no exception object shared by requests
    assert len(problems(caplog)) == 1


def test_concurrent_requests_all_get_an_answer_none_is_dropped(client: TestClient, lock: sqlite3.Connection,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    app = client.app

    async def many() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await asyncio.gather(*(http.post(VOTES, json={"helpful": n % 2 == 0}) for n in range(12)))

    lock.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.WARNING):
        answers = client.portal.call(many)
    assert [a.status_code for a in answers] == [503] * 12
    assert all(a.headers.get("retry-after") and "error" in a.json() for a in answers)
    records = problems(caplog)
    assert 1 <= len(records) <= 12 and all(r.exc_info is None for r in records)
    lock.execute("ROLLBACK")
    answers = client.portal.call(many)
    assert [a.status_code for a in answers] == [201] * 12


def test_the_form_without_javascript_gets_a_translated_503_page(client: TestClient, lock: sqlite3.Connection) -> None:
    page = BeautifulSoup(client.get(PT_ARTICLE).text, "html.parser")
    token = page.select_one("section.feedback input[name=csrf_token]")["value"]
    client.portal.call(client.app.state.kb.db.flush)  # type: ignore[attr-defined]  # the page view
    lock.execute("BEGIN IMMEDIATE")
    refused = client.post(PT_ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "yes"})
    assert refused.status_code == 503 and refused.headers["retry-after"]
    shown = BeautifulSoup(refused.text, "html.parser")
    assert shown.html["lang"] == "pt"
    assert shown.h1.get_text() == "Não é possível guardar isto neste momento"
    assert "a base de dados está ocupada" in shown.select_one(".error-message").get_text()
    lock.execute("ROLLBACK")
    assert client.post(PT_ARTICLE + "/feedback", data={"csrf_token": token, "helpful": "yes"}).status_code == 303


def test_a_full_disk_is_a_503_too_and_votes_resume_when_there_is_room(
        client: TestClient, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    db = client.app.state.kb.db  # type: ignore[attr-defined]

    async def cap(conn: Any, pages: int | None = None) -> None:
        # max_page_count is a setting of the writer connection: no page can be added past it.
        found = await conn.fetch_all("PRAGMA page_count")
        await conn.execute(f"PRAGMA max_page_count = {pages or next(iter(found))[0]}")

    client.portal.call(db.write, cap)
    answers = []
    with caplog.at_level(logging.WARNING):
        for n in range(40):  # long comments: the votes table soon needs a page it cannot have
            client.cookies.clear()
            answers.append(client.post(VOTES, json={"helpful": False, "comment": f"{n} " + "x" * 1900}))
            if answers[-1].status_code != 201:
                break
    refused = answers[-1]
    assert refused.status_code == 503, [a.status_code for a in answers]
    assert refused.headers["retry-after"] == str(storage_db.RETRY_BROKEN_SECONDS)
    (record,) = problems(caplog)
    assert "full" in record.getMessage() and record.exc_info is None
    client.portal.call(db.write, lambda conn: cap(conn, 1_000_000))
    client.cookies.clear()
    assert client.post(VOTES, json={"helpful": True}).status_code == 201
    assert votes_in_db(tmp_path) == len(answers)
