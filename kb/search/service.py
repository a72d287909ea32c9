"""The search service the web app uses: async, cached, and keeping the index built.

Searches run in threads and are cached by (query, filters, generation); index writes run in
one worker thread, triggered by the site's changes. The site serves pages at once: a missing,
damaged or deleted index is built in the background (in a child process when the site is
large, see kb.search.builds), `status` says so for /healthz, and a search made meanwhile waits
up to READY_WAIT_SECONDS, then raises SearchUnavailable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from kb.caches import LRU
from kb.content.model import Synonyms
from kb.content.site import Change, Site
from kb.search import builds, updates
from kb.search.errors import LargeChange, SearchBusy, SearchUnavailable
from kb.search.index import SUGGEST_LIMIT, SearchIndex
from kb.search.query import MAX_QUERY_CHARS, normalise, parse_query
from kb.search.results import SearchResults, Suggestion

log = logging.getLogger("kb.search")

RETRY_SECONDS = 2.0  # after a failed update (another writer's lock, a passing error)
BUILD_RETRY_SECONDS = 30.0  # after a failed full build (disk full, folder not writable)
READY_WAIT_SECONDS = 5.0  # a search made while the index is built waits this long before a 503
PROCESS_BUILD_MIN = 300  # published articles from which a full build runs in a child process
# From there, a change to more than this share of them (a renamed category, a policy version
# most articles show, a large pull), or a fold of segments that would rewrite as many (months of
# edits in one language), is not written in place but built anew aside, in the build
# process: the server would hold Whoosh's writer pool for all of them (memory a process does not
# give back) and leave a segment without the full build's flat postings and positions.
LARGE_CHANGE_SHARE = 0.25
# Segments are folded once no change has come for this long (a fold at 50,000 articles takes
# 100-200 ms of CPU, which the searches that look for an edit would otherwise share), or at
# once past twice updates.MAX_SEGMENTS (a steady stream of edits).
FOLD_DELAY_SECONDS = 1.0
CACHE_SIZE = 2048

T = TypeVar("T")


class SearchService:
    """Async face of the index (see the module): searches, suggestions, background builds."""

    def __init__(self, site: Site, index_dir: Path, *, cache_size: int = CACHE_SIZE,
                 process_build_min: int = PROCESS_BUILD_MIN) -> None:
        self.site = site
        self.index = SearchIndex(index_dir)
        self.index.on_lost = self._on_lost
        self._cache: LRU[Hashable, SearchResults] = LRU(cache_size)
        self._suggest_cache: LRU[Hashable, list[Suggestion]] = LRU(cache_size)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-search-writer")
        self._queued = False
        self._sync_keys: set[tuple[str, str]] | None = set()  # what the queued sync looks at (None: all)
        self._build_queued = False
        self._schedule_lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._child: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._ready = threading.Event()  # set when waiting longer for the index is pointless
        self.status = "starting"  # ok | building | rebuilding | unavailable (see /healthz)
        self.process_build_min = process_build_min
        self.before_build: Callable[[], None] | None = None  # tests hold a build here
        self.site.on_change(self._on_change)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the index, then catch up with changes in the background; a missing or damaged
        index is built in the background. Either way, pages are served at once."""
        if await asyncio.wrap_future(self._writer.submit(self.index.open)):
            self.status = "ok"
            self._writer.submit(self._catch_up)
        else:
            self._schedule_build("building")

    def _catch_up(self) -> None:
        try:
            self._sync(report=True)
        finally:
            self._ready.set()
        self.index.read_keys()  # searchable first; then ready for the first edit

    def _on_lost(self, why: str) -> None:
        self._schedule_build("rebuilding", why)

    def _heal(self) -> None:
        """No build is open and none is coming (it vanished just as a build finished, when a
        new loss could not queue another): queue one."""
        if self.status == "ok" and not self._build_queued and not self.index.is_open:
            self._schedule_build("rebuilding", "no build is open")

    def _schedule_build(self, status: str, why: str = "") -> None:
        """`status` "ok": built aside while the open build is searched (a large change)."""
        with self._schedule_lock:
            if self._closed or self._build_queued:
                return
            self._build_queued = True
            if status != "ok":
                self.status = status
                self._ready.clear()
            if why:
                log.warning("the search index in %s is gone (%s); rebuilding it", self.index.root, why)
            elif status != "ok":
                log.warning("building the search index in %s in the background", self.index.root)
            try:
                self._writer.submit(self._build_job, status)
            except RuntimeError:  # shut down
                self._build_queued = False

    def _build_job(self, status: str) -> None:
        try:
            if self.before_build is not None:
                self.before_build()
            if self._closed:
                return
            started = time.perf_counter()
            count = _full_build(self)
            if self._closed:
                return
            if not self.index.open():
                raise RuntimeError("the new build cannot be opened")
        except Exception as exc:  # noqa: BLE001 - logged in one line, retried
            if self._closed:
                return
            # One line, no traceback: the cause (disk full, no permission) is in the message.
            log.error("building the search index in %s failed (%s: %s); retrying in %.0f s",
                      self.index.root, type(exc).__name__, exc, BUILD_RETRY_SECONDS)
            with self._schedule_lock:
                self._build_queued = False
                self.status = "unavailable" if status != "ok" else "ok"  # aside: the open one serves
            self._ready.set()  # searches answer at once rather than wait for the retry
            self._later(BUILD_RETRY_SECONDS, lambda: self._schedule_build(status))
            return
        log.info("search index built: %d articles in %.1f s", count, time.perf_counter() - started)
        with self._schedule_lock:
            self._build_queued = False
            self.status = "ok"
        try:
            self._sync(report=True)  # what changed while it was built
        finally:
            self._ready.set()

    def _build_in_child(self) -> int | None:
        """Build in a fresh process: Whoosh's posting pools and the rendered documents go
        back to the system with it (Python's allocator keeps what a thread used)."""
        job = builds.build_job(self.site, self.index.root)
        with self._schedule_lock:
            if self._closed:
                return None
            try:
                child = builds.start_build_process()
            except OSError as exc:  # no process to be had: the server builds it itself
                log.warning("cannot start a search index build process: %s", exc)
                return None
            self._child = child
        try:
            child.communicate(job)
            return child.returncode
        finally:
            with self._schedule_lock:
                self._child = None

    async def close(self) -> None:
        with self._schedule_lock:
            self._closed = True
            for timer in self._timers:
                timer.cancel()
            if self._child is not None:
                # A build killed midway leaves the previous build (if any) serving and a tmp-
                # folder that the next build removes.
                self._child.terminate()
        await asyncio.wrap_future(self._writer.submit(lambda: None))
        self._writer.shutdown(wait=True)
        self.index.close()

    def _later(self, seconds: float, job: Callable[[], Any]) -> None:
        with self._schedule_lock:
            if self._closed:
                return
            self._timers = [t for t in self._timers if t.is_alive()]
            timer = threading.Timer(seconds, job)
            timer.daemon = True
            self._timers.append(timer)
            timer.start()

    def health(self) -> str:
        """ok, building, rebuilding or unavailable; notices a deleted index (POLL_SECONDS)."""
        if not self.index.poll():
            self._heal()
        return self.status

    # --- updates --------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if change:
            self.request_sync(None if change.everything else change.changed | change.removed)

    def request_sync(self, keys: Collection[tuple[str, str]] | None = None) -> Future[None] | None:
        """Queue one sync of `keys` ((lang, slug); None: every article); requests coalesce."""
        with self._schedule_lock:
            if self._closed:
                return None
            if keys is None or self._sync_keys is None:
                self._sync_keys = None
            else:
                self._sync_keys.update(keys)
            if self._queued:
                return None
            self._queued = True
            try:
                return self._writer.submit(self._sync_job)
            except RuntimeError:  # shut down
                self._queued = False
                return None

    def _sync_job(self) -> None:
        with self._schedule_lock:
            self._queued = False
            keys, self._sync_keys = self._sync_keys, set()
        self._sync(keys=keys)

    def _sync(self, report: bool = False, keys: Collection[tuple[str, str]] | None = None) -> None:
        if self._closed or not self.index.poll(force=True):
            self._heal()
            return  # being built (the build job indexes everything), or gone (on_lost rebuilds)
        started = time.perf_counter()
        try:
            written = self.index.sync(self.site, keys, fold_beyond=2 * updates.MAX_SEGMENTS, most=self._most())
        except LargeChange as exc:
            log.info("search index: %s; building it anew aside", exc)
            self._schedule_build("ok")
        except SearchBusy as exc:
            log.warning("%s; retrying in %.0f s", exc, RETRY_SECONDS)
            self._later(RETRY_SECONDS, self.request_sync)
        except SearchUnavailable:
            pass  # gone meanwhile: on_lost has queued the rebuild and said so
        except Exception:
            if self.index.poll(force=True):  # still there: a real failure, worth a traceback
                log.exception("search index update failed; retrying in %.0f s", RETRY_SECONDS)
                self._later(RETRY_SECONDS, self.request_sync)
        else:
            if written:
                _written(self, written, time.perf_counter() - started if report else None)

    def _most(self) -> int | None:
        """The most documents a change or a fold writes in place; None: any (a small site)."""
        published = len(self.site.published())
        return int(published * LARGE_CHANGE_SHARE) if published >= self.process_build_min else None

    async def wait_idle(self) -> None:
        """Wait until every queued index update (or build) is committed (tests, benchmarks)."""
        await asyncio.wrap_future(self._writer.submit(lambda: None))

    async def rebuild(self) -> int:
        return await asyncio.wrap_future(self._writer.submit(self.index.rebuild, self.site))

    async def _searchable(self) -> None:
        """Return when there is an index to search, waiting a little for one being built."""
        if self.index.poll() and self._ready.is_set():
            return
        deadline = time.monotonic() + READY_WAIT_SECONDS
        while not self._ready.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self.index.poll():
            self._heal()
            raise SearchUnavailable(self.status if self.status != "ok" else "building")

    # --- queries --------------------------------------------------------------------------

    async def search(self, lang: str, text: str, *, category: str | None = None, type: str | None = None,
                     offset: int = 0, limit: int = 10, synonyms: Synonyms | None = None) -> SearchResults:
        parsed = parse_query(text)
        if parsed.empty:
            return SearchResults(parsed.text, lang, 0)
        await self._searchable()
        synonyms = self.site.content.synonyms.of(lang) if synonyms is None else synonyms  # or a draft's
        key = (lang, parsed.key, category, type, offset, limit, self.index.token(lang), synonyms.version)
        search = functools.partial(self.index.search, lang, parsed, category=category, type=type,
                                   offset=offset, limit=limit, synonyms=synonyms)
        return await _cached(self._cache, key, search)

    async def suggest(self, lang: str, text: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
        text = text[: MAX_QUERY_CHARS * 4]
        normalised = normalise(text).lower()
        if not normalised:
            return []
        await self._searchable()
        key = (lang, normalised, text[-1:].isspace(), limit, self.index.token(lang))
        return await _cached(self._suggest_cache, key, functools.partial(self.index.suggest, lang, text, limit))


def _full_build(service: SearchService) -> int:
    """A large site is built in a child process (SearchService._build_in_child), a small one
    or one whose child failed in the server."""
    count = len(service.site.published())
    if count >= service.process_build_min:
        code = service._build_in_child()
        if code == 0 or service._closed:
            return count
        log.warning("the search index build process failed (exit status %s); building in the server", code)
    return service.index.rebuild(service.site)


def _written(service: SearchService, count: int, seconds: float | None) -> None:
    """After a sync wrote `count` changes: said (when `seconds` is given), folded once
    FOLD_DELAY_SECONDS pass without another write."""
    if seconds is not None:
        log.info("search index updated: %d change(s) in %.2f s", count, seconds)
    service._later(FOLD_DELAY_SECONDS, functools.partial(_fold_when_quiet, service))


def _fold_when_quiet(service: SearchService) -> None:
    """(A timer's) fold of segments past updates.MAX_SEGMENTS on the service's writer thread,
    unless a change came meanwhile (its own timer comes later)."""
    def fold() -> None:
        if service._closed or time.monotonic() - service.index.written_at < FOLD_DELAY_SECONDS * 0.9:
            return
        try:
            service.index.fold(most=service._most())
        except LargeChange as exc:
            log.info("search index: %s; building it anew aside", exc)
            service._schedule_build("ok")
        except SearchBusy as exc:
            log.warning("%s; the next change folds", exc)
        except Exception:  # an optimisation: the next change's fold tries again
            log.exception("folding search index segments failed")

    try:
        service._writer.submit(fold)
    except RuntimeError:  # shut down
        pass


async def _cached(cache: LRU[Hashable, T], key: Hashable, compute: Callable[[], T]) -> T:
    """The cached value, or `compute` run in a thread (Whoosh blocks) and cached."""
    found = cache.get(key)
    if found is None:
        found = await asyncio.to_thread(compute)
        cache.put(key, found)
    return found
