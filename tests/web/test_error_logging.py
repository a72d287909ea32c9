"""An unexpected exception is logged once, with its traceback, and still answered with the
translated 500 page (or the JSON error under /api/): in the app, and behind a real uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from bs4 import BeautifulSoup

from kb.content.model import Article
from tests.conftest import LiveServer, MakeClient, services_of, settings_for

SECRET = "secret internals /etc/passwd"


def explode(article: Article) -> NoReturn:
    raise RuntimeError(SECRET)


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_crash_is_logged_once_with_its_traceback_and_answered_with_the_translated_page(
        make_client: MakeClient, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(sample_tree)  # raises what escapes the app, as a server would log it
    services_of(client).site.rendered = explode  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        page = client.get("/fr/articles/code-support-et-code-vip")
    assert page.status_code == 500
    title = BeautifulSoup(page.text, "html.parser").h1
    assert title is not None and title.get_text() == "Un problème est survenu de notre côté"
    assert SECRET not in page.text and "Traceback" not in page.text
    (record,) = logged_errors(caplog)
    assert record.name == "kb.web" and record.getMessage() == "GET /fr/articles/code-support-et-code-vip failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert SECRET in caplog.text and "Traceback" in caplog.text


def test_a_crash_under_the_api_is_logged_once_and_answered_in_json(
        make_client: MakeClient, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(sample_tree)
    services_of(client).site.rendered = explode  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        answer = client.get("/api/v1/articles/en/support-code-and-vip-code")
    assert answer.status_code == 500 and answer.json() == {"error": "internal error"}
    (record,) = logged_errors(caplog)
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


@contextmanager
def heard(logger: logging.Logger, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """uvicorn's loggers do not propagate to the root logger that caplog listens to (and
    uvicorn.Config sets their handlers: add caplog's after it)."""
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)


def test_behind_uvicorn_a_crash_is_logged_once_not_again_by_the_server(
        tmp_path: Path, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = LiveServer(settings_for(tmp_path, sample_tree))
    app: Any = server.app
    with server, heard(logging.getLogger("uvicorn"), caplog), caplog.at_level(logging.ERROR):
        app.state.kb.site.rendered = explode
        page = httpx.get(f"{server.url}/en/articles/support-code-and-vip-code", timeout=30)
        answer = httpx.get(f"{server.url}/api/v1/articles/en/support-code-and-vip-code", timeout=30)
    assert page.status_code == 500 and "Something went wrong on our side" in page.text
    assert answer.status_code == 500 and answer.json() == {"error": "internal error"}
    records = logged_errors(caplog)
    assert [r.name for r in records] == ["kb.web", "kb.web"], [r.getMessage() for r in records]
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in records)
