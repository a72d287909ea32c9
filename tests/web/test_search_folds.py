"""Segments of a served index (kb.search.service): an edit is searchable at once and its new
segment is folded only once edits pause, so the searches looking for an edit never share the
CPU with a fold; a steady stream of edits still folds past twice the usual number."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from kb.content.site import Site
from kb.search import flatpostings, service
from kb.search.service import SearchService
from kb.search.updates import MAX_SEGMENTS
from tests.conftest import ContentTree


def _segments(search: SearchService) -> int:
    build = search.index._build
    assert build is not None
    return len(build.indexes["en"]._segments())


def test_edits_are_found_at_once_and_folded_once_they_pause(tmp_path: Path, tree: ContentTree,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "FOLD_DELAY_SECONDS", 1.5)  # longer than any gap between edits here
    for number in range(1, 6):
        tree.add("en", f"page-{number}", id=number, title=f"Page {number}", body="The router restarts.")
    site = Site(tree.root)
    site.load()
    search = SearchService(site, tmp_path / "index", process_build_min=10**6)

    async def scenario() -> None:
        await search.start()
        await search.wait_idle()
        try:
            for edit in range(MAX_SEGMENTS + 2):  # edits closer together than the delay
                tree.add("en", "page-1", id=1, title="Page 1", body=f"The router restarts. Marker{edit}word.")
                site.load()
                await search.wait_idle()
                found = await search.search("en", f"marker{edit}word")
                assert [hit.slug for hit in found.hits] == ["page-1"]
                assert (await search.search("en", "router")).total == 5
            assert MAX_SEGMENTS < _segments(search) <= 2 * MAX_SEGMENTS  # not folded meanwhile
            deadline = time.monotonic() + 10
            while _segments(search) > MAX_SEGMENTS and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert _segments(search) <= MAX_SEGMENTS  # folded once they paused
            assert (await search.search("en", f"marker{MAX_SEGMENTS + 1}word")).total == 1
            assert (await search.search("en", "router")).total == 5
            for edit in range(2 * MAX_SEGMENTS):  # a steady stream: folded past twice as many
                tree.add("en", "page-2", id=2, title="Page 2", body=f"The router restarts. Stream{edit}word.")
                site.load()
                await search.wait_idle()
                assert _segments(search) <= 2 * MAX_SEGMENTS
        finally:
            await search.close()

    asyncio.run(scenario())


def test_on_a_large_site_a_fold_that_would_rewrite_most_of_a_language_is_a_build_aside(
        tmp_path: Path, tree: ContentTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """After months of edits the small segments outgrow half the full build's: folding them all
    in place would hold the server's writer for the whole language and leave a segment without
    the flat postings searches read. It is built anew aside instead, searched meanwhile."""
    monkeypatch.setattr(service, "FOLD_DELAY_SECONDS", 1.5)  # longer than any gap between edits here
    for number in range(1, 121):
        tree.add("en", f"router-{number}", id=number, title=f"Router question {number}")
    site = Site(tree.root)
    site.load()
    search = SearchService(site, tmp_path / "index", process_build_min=100)  # a "large" site
    current = tmp_path / "index" / "CURRENT"

    async def scenario() -> None:
        await search.start()
        await search.wait_idle()
        try:
            first = current.read_text()
            # Nine edits of eight articles each (fewer than a quarter: each written in place):
            # 72 documents in nine small segments beside the full build's 120.
            for edit in range(MAX_SEGMENTS + 1):
                for number in range(8 * edit + 1, 8 * edit + 9):
                    tree.add("en", f"router-{number}", id=number, title=f"Router question {number} airship")
                site.load()
                await search.wait_idle()
            assert _segments(search) == MAX_SEGMENTS + 2 and current.read_text() == first
            assert (await search.search("en", "airship")).total == 72
            deadline = time.monotonic() + 30
            while current.read_text() == first and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # the quiet fold finds it would take everything
            await search.wait_idle()
            assert current.read_text() != first, "folded in place, not built aside"
            assert _segments(search) == 1
            build = search.index._build
            assert build is not None
            with build.indexes["en"].reader() as reader:
                assert flatpostings.of_reader(reader) is not None  # what searches read
            assert (await search.search("en", "airship")).total == 72
            assert (await search.search("en", "router")).total == 120
        finally:
            await search.close()

    asyncio.run(scenario())
