"""The index a process searches: the open build, its searchers, incremental sync, queries.

Whoosh is synchronous with one writer per index: searches run in threads on the last
committed generation (one searcher per thread and language), writes go through one lock. The
on-disk side (building, swapping, cleaning up) is in kb.search.builds; how a query is compiled
in kb.search.query; what a result looks like in kb.search.results.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from whoosh.query import And, AndNot
from whoosh.scoring import BM25F

from kb.content.model import Synonyms
from kb.content.site import Site
from kb.search import builds, mapped, readers, results, updates  # noqa: F401 - mapped: index files read in place
from kb.search.builds import Build
from kb.search.documents import Fingerprints, changes, document
from kb.search.errors import LargeChange, SearchUnavailable
from kb.search.query import ParsedQuery, QueryCompiler, normalise
from kb.search.results import SearchResults, Suggestion
from kb.search.synonyms import expansion

log = logging.getLogger("kb.search")

SUGGEST_LIMIT = 8
POLL_SECONDS = 0.5  # how often searches look for commits made by other processes


class SearchIndex:
    """The index on disk: open, build, update, query. Thread-safe; no asyncio here."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._write_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._build: Build | None = None
        self._polled = 0.0
        self._local = threading.local()
        self._searchers: set[Any] = set()
        self._fingerprints: Fingerprints | None = None
        self._compilers: dict[str, QueryCompiler] = {}
        self.weighting = BM25F(B=0.75, K1=1.2)
        self.written_at = 0.0  # time.monotonic() of the last sync that wrote something
        # Called (once, from whichever thread noticed) when the open build vanished: the
        # index folder was deleted under a running site. The service rebuilds it.
        self.on_lost: Callable[[str], None] | None = None

    # --- the open build -------------------------------------------------------------------

    def open(self) -> bool:
        """Open the build named by CURRENT; False (with a log line) when it is missing or unusable."""
        build = builds.open_current(self.root)
        if build is None:
            return False
        self._adopt(build, None)
        return True

    def _adopt(self, build: Build, fingerprints: Fingerprints | None) -> None:
        with self._state_lock:
            self._build = build
            self._fingerprints = fingerprints
            self._polled = time.monotonic()

    def _current(self) -> Build | None:
        """The build to search, noticing (at most every POLL_SECONDS) another process's commits
        and a build that vanished (the index folder deleted under a running site)."""
        build = self._build
        now = time.monotonic()
        if build is None or now - self._polled < POLL_SECONDS:
            return build
        lost = ""
        with self._state_lock:
            if now - self._polled < POLL_SECONDS or self._build is not build:
                return self._build
            self._polled = now
            try:
                fresh = builds.follow(self.root, build)
                if fresh is not build:
                    self._build, self._fingerprints = fresh, None
            except FileNotFoundError as exc:
                # CURRENT or the build's folder is gone: nothing will bring it back but a
                # rebuild. Drop the build now, so this is said once, not on every poll.
                lost = f"{exc.strerror}: {exc.filename}"
                self._build = None
                self._fingerprints = None
            except Exception as exc:  # noqa: BLE001 - keep serving what is open
                log.warning("cannot check the search index for changes: %s", exc)
            found = self._build
        if lost:
            if self.on_lost is not None:
                self.on_lost(lost)  # says so, once
            else:
                log.warning("the search index in %s is gone (%s)", self.root, lost)
        return found

    def poll(self, force: bool = False) -> bool:
        """Look for changes (now, or at most every POLL_SECONDS); False when no build is open."""
        if force:
            self._polled = 0.0
        return self._current() is not None

    def token(self, lang: str) -> tuple[str, int]:
        """Changes whenever what a search in `lang` would see changes (for result caches)."""
        build = self._current()
        if build is None:
            return ("", -1)
        return (build.name, build.generations.get(lang, -1))

    @property
    def is_open(self) -> bool:
        return self._build is not None

    def languages(self) -> tuple[str, ...]:
        build = self._build
        return tuple(sorted(build.indexes)) if build else ()

    def close(self) -> None:
        with self._state_lock:
            searchers, self._searchers = self._searchers, set()
            self._build = None
        for searcher in searchers:
            with contextlib.suppress(Exception):  # closing what may already be closed
                searcher.close()

    def _compiler(self, lang: str) -> QueryCompiler:
        found = self._compilers.get(lang)
        if found is None:
            found = self._compilers[lang] = QueryCompiler(lang)
        return found

    def _searcher(self, lang: str) -> Any | None:
        """This thread's searcher on the last committed generation of `lang`."""
        build = self._current()
        if build is None or lang not in build.indexes:
            return None
        generation = build.generations.get(lang, -1)
        mine: dict[str, tuple[str, int, Any]] = self._local.__dict__.setdefault("searchers", {})
        held = mine.get(lang)
        if held is not None and held[0] == build.name and held[1] == generation:
            return held[2]
        # A searcher of the same build keeps its unchanged segments' readers (kb.search.readers).
        previous = held[2] if held is not None and held[0] == build.name else None
        if held is not None:
            with self._state_lock:
                self._searchers.discard(held[2])
            if previous is None:
                held[2].close()
        try:
            searcher = readers.open_searcher(build.indexes[lang], self.weighting, previous)
        except Exception:  # noqa: BLE001 - the build was replaced and removed by another process: look again
            self._polled = 0.0
            build = self._current()
            if build is None or lang not in build.indexes:
                return None
            generation = build.generations.get(lang, -1)
            searcher = build.indexes[lang].searcher(weighting=self.weighting)
        with self._state_lock:
            self._searchers.add(searcher)
        mine[lang] = (build.name, generation, searcher)
        return searcher

    # --- writing --------------------------------------------------------------------------

    def rebuild(self, site: Site, progress: Callable[[int], None] | None = None,
                total: Callable[[int], None] | None = None, workers: int = 1) -> int:
        """Build every published article aside, then swap it in; returns the article count.
        `workers` > 1 forks processes (builds.build): only from a process without threads."""
        def swapped(name: str, fingerprints: Fingerprints) -> None:
            self._adopt(builds.open_build(self.root, name), fingerprints)

        with self._write_lock:
            return builds.build(self.root, site, progress, total, swapped, workers=workers)

    def sync(self, site: Site, keys: Collection[tuple[str, str]] | None = None, *,
             fold_beyond: int = updates.MAX_SEGMENTS, most: int | None = None) -> int:
        """Bring the index in line with the site: (re)index changed articles, drop removed ones.
        With `keys` ((lang, slug)), only those articles are compared (a watcher's reload). Then
        the languages written fold their segments past `fold_beyond` (see `fold`).

        Returns how many documents were written or deleted. Raises SearchBusy when another
        process holds the write lock past WRITE_TIMEOUT, LargeChange when more than `most`
        documents would be (writing nothing) or, once the changes are written, folded.
        """
        with self._write_lock:
            build = self._current()
            if build is None:  # never opened, or gone: only a full build makes one
                raise SearchUnavailable("missing")
            if self._fingerprints is None:
                self._fingerprints = builds.load_fingerprints(build)
            written = 0
            folded: list[str] = []
            found = changes(site, self._fingerprints, keys)
            if most is not None and (count := sum(len(c.changed) + len(c.removed) for c in found)) > most:
                raise LargeChange(count)
            for change in found:
                docs = [document(site, a) for a in change.changed]  # render before taking the lock
                ix = updates.write_changes(build, change.lang, docs, change.removed)
                prints = self._fingerprints.setdefault(change.lang, {})
                for slug in change.removed:
                    prints.pop(slug, None)
                for doc in docs:
                    prints[doc["key"]] = doc["fingerprint"]
                with self._state_lock:
                    build.indexes[change.lang] = ix
                    build.generations[change.lang] = ix.latest_generation()
                log.info("search index %s: %d updated, %d removed", change.lang, len(docs), len(change.removed))
                written += len(docs) + len(change.removed)
                folded.append(change.lang)
            if written:
                self.written_at = time.monotonic()
            self.fold(folded, fold_beyond, most)  # once every change is searchable
            return written

    def read_keys(self) -> None:
        """What the next edit's commit would read first (kb.search.updates.read_keys)."""
        with self._write_lock, contextlib.suppress(Exception):  # only a head start: an edit reads them too
            if (build := self._current()) is not None:
                updates.read_keys(build)

    def fold(self, langs: Collection[str] | None = None, beyond: int = updates.MAX_SEGMENTS,
             most: int | None = None) -> None:
        """Fold the segments of `langs` (None: every language) that have more than `beyond`; raises
        LargeChange, leaving the rest unfolded, when one would rewrite more than `most` documents."""
        with self._write_lock:
            build = self._current()
            if build is None:
                return
            for lang in list(build.indexes) if langs is None else langs:
                ix = updates.fold_segments(build, lang, beyond, most)
                if ix is not None:
                    with self._state_lock:
                        build.indexes[lang] = ix
                        build.generations[lang] = ix.latest_generation()

    # --- queries --------------------------------------------------------------------------

    def search(self, lang: str, parsed: ParsedQuery, *, category: str | None = None,
               type: str | None = None, offset: int = 0, limit: int = 10,
               synonyms: Synonyms | None = None) -> SearchResults:
        """`synonyms` are the language's (kb.content.synonyms), applied to this query only."""
        started = time.perf_counter()
        searcher = self._searcher(lang)
        if searcher is None or parsed.empty:
            return SearchResults(parsed.text, lang, 0)
        compiler = self._compiler(lang)
        compiled = compiler.compile(parsed, searcher.reader(), expansion(lang, synonyms) if synonyms else None)
        if compiled is None:
            return SearchResults(parsed.text, lang, 0, took_ms=results.elapsed_ms(started))
        found, pairs = results.collect(searcher, compiled.query, category, type, offset + limit, compiled.pairs)
        partial = False
        if not pairs and len(compiled.clauses) > 1:  # no article has every word: the closest
            query = results.any_of(searcher, compiled.clauses)
            if compiled.excluded is not None:
                query = AndNot(query, compiled.excluded)
            found, pairs = results.collect(searcher, query, category, type, offset + limit)
            partial = bool(pairs)
        counts, total = results.facets(pairs, category, type)
        hits = tuple(results.hit(h, lang, compiled.terms, compiler.excerpts) for h in found[offset:offset + limit])
        return SearchResults(query=parsed.text, lang=lang, total=total, hits=hits,
                             suggestion=compiled.suggestion, facets=counts, partial=partial,
                             took_ms=results.elapsed_ms(started))

    def suggest(self, lang: str, text: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
        """Titles for what is being typed: earlier words whole, the last one as a prefix
        (unless the text ends with a space)."""
        searcher = self._searcher(lang)
        last_is_prefix = bool(text) and not text[-1].isspace()
        text = normalise(text)
        if searcher is None or not text:
            return []
        clauses = self._compiler(lang).prefix_clauses(searcher.reader(), text, last_is_prefix)
        if not clauses:
            return []
        # Each title is offered once (results.suggestions), so ask for more than shown.
        found = results.best(searcher, And(clauses), limit * 3)
        if not found and len(clauses) > 1:
            found = results.best(searcher, results.any_of(searcher, clauses), limit * 3)
        return results.suggestions(found, lang, limit)
