"""Builds on disk: a full build made aside and swapped in, opened, cleaned up (kb.search.updates
changes one in place).

Layout of KB_INDEX_DIR:

    CURRENT         name of the build being served; replaced atomically
    PREVIOUS        name of the build CURRENT named before the last swap: kept, because other
                    processes may still read it until their next look at CURRENT
    b-<stamp>/      a complete build: one Whoosh index per language (indexname = the language)
                    and kb-index.json (schema version, languages)
    tmp-<stamp>/    a full build in progress; swapped in by renaming it and rewriting CURRENT,
                    so a build killed at any moment leaves the previous build serving
    .rebuild.lock   held while building (stale tmp- folders are removed under it)

A large site is built in a child process (`build_from_stdin`), so that the server's memory
goes back to what serving needs once the build is done. That process renders each article once
and spreads the languages over one forked worker per CPU (each language's index is written by
one worker, largest languages first), since Whoosh's indexing is pure Python and bound by one
core each. A worker writes with kb.search.bulk.BulkWriter: the files Whoosh's own writer would
make, in about half its CPU.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import multiprocessing
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.query import Term

import kb
from kb.content.files import exclusive_lock, write_atomically
from kb.content.model import Article
from kb.content.site import CONTENT_CACHE_FILE, Site
from kb.policy.holder import PolicyHolder
from kb.search import columns
from kb.search.analysis import SCHEMA_VERSION, build_schema
from kb.search.bulk import BulkWriter
from kb.search.documents import Fingerprints, document

log = logging.getLogger("kb.search")

CURRENT_FILE = "CURRENT"
PREVIOUS_FILE = "PREVIOUS"
MANIFEST_FILE = "kb-index.json"
LOCK_FILE = ".rebuild.lock"
_TOC_RE = re.compile(r"^_([a-z]{2})_(\d+)\.toc$")
_BUILD_NAME_RE = re.compile(r"b-[\w.-]+")
_PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass
class Build:
    """An open build: one Whoosh index per language, at the generations last seen."""

    name: str
    path: Path
    indexes: dict[str, Any]  # lang -> whoosh FileIndex
    generations: dict[str, int]

    def refresh(self) -> None:
        """See the commits of other processes, and the languages they added."""
        fresh = toc_generations(self.path)
        for lang in fresh.keys() - self.indexes.keys():
            self.indexes[lang] = whoosh_index.open_dir(str(self.path), indexname=lang)
        self.generations = fresh


def read_name(path: Path) -> str:
    """The build name in CURRENT or PREVIOUS (FileNotFoundError when there is none)."""
    return path.read_text(encoding="utf-8").strip()


def follow(root: Path, build: Build) -> Build:
    """The build CURRENT names now: `build` refreshed, or another one opened (raises
    FileNotFoundError when CURRENT or the build's folder is gone)."""
    name = read_name(root / CURRENT_FILE)
    if name == build.name:
        build.refresh()
        return build
    log.info("search index switched to %s", name)
    return open_build(root, name)


def toc_generations(path: Path) -> dict[str, int]:
    """The last committed generation of each language's index in a build folder."""
    found: dict[str, int] = {}
    for name in os.listdir(path):
        match = _TOC_RE.match(name)
        if match:
            lang, generation = match.group(1), int(match.group(2))
            found[lang] = max(found.get(lang, -1), generation)
    return found


# --- opening ---------------------------------------------------------------------------------


def open_build(root: Path, name: str) -> Build:
    if not _BUILD_NAME_RE.fullmatch(name):
        raise ValueError(f"bad build name {name!r}")
    path = root / name
    manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    if manifest.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"schema version {manifest.get('schema')} is not {SCHEMA_VERSION}")
    generations = toc_generations(path)
    indexes = {lang: whoosh_index.open_dir(str(path), indexname=lang) for lang in generations}
    return Build(name, path, indexes, generations)


def open_current(root: Path) -> Build | None:
    """The build named by CURRENT, read through once; None (with a log line) when it is
    missing or unusable, which means: build it again."""
    try:
        name = read_name(root / CURRENT_FILE)
    except FileNotFoundError:
        log.info("no search index in %s yet", root)
        return None
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", root / CURRENT_FILE, exc)
        return None
    problem = ""
    with warnings.catch_warnings():
        # Whoosh leaves files open when it fails to read a damaged index: close them
        # now, quietly, rather than warn about them later.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            build = open_build(root, name)
            _check(build)
        except Exception as exc:  # noqa: BLE001 - any damage means: rebuild
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            gc.collect()
    if problem:
        log.warning("the search index in %s is unusable (%s)", root, problem)
        return None
    return build


def _check(build: Build) -> None:
    """Read a stored document and a posting list of each index: damage shows here, not later."""
    for ix in build.indexes.values():
        with ix.searcher() as searcher:
            reader = searcher.reader()
            for docnum in reader.all_doc_ids():
                reader.stored_fields(docnum)
                break
            list(searcher.docs_for_query(Term("words", "a")))


def load_fingerprints(build: Build) -> Fingerprints:
    """Each language's slugs and fingerprints, read a column at a time (kb.search.columns: at
    a start with 50,000 articles, 0.13 s where two lookups per article took 0.19 s)."""
    found: Fingerprints = {}
    for lang, ix in build.indexes.items():
        with ix.reader() as reader:
            found[lang] = {}
            for leaf, _ in reader.leaf_readers():
                count = leaf.doc_count_all()
                key_field, print_field = leaf.schema["key"], leaf.schema["fingerprint"]
                keys = columns.values(leaf.column_reader("key", translate=False), count)
                prints = columns.values(leaf.column_reader("fingerprint", translate=False), count)
                deleted = set(leaf.segment().deleted_docs()) if leaf.has_deletions() else set()
                found[lang].update((key_field.from_column_value(key), print_field.from_column_value(value))
                                   for docnum, (key, value) in enumerate(zip(keys, prints, strict=True))
                                   if docnum not in deleted)
    return found


# --- full builds -----------------------------------------------------------------------------


def build(root: Path, site: Site, progress: Callable[[int], None] | None = None,
          total: Callable[[int], None] | None = None,
          swapped: Callable[[str, Fingerprints], None] | None = None, workers: int = 1) -> int:
    """Build every published article aside, then swap it in; returns the article count.

    `swapped(name, fingerprints)` runs right after the swap, still under the lock: the caller
    opens the new build before the builds it replaced are removed. `workers` > 1 forks that
    many processes: only for a process without threads (the build process).
    """
    root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(root / LOCK_FILE):
        remove_stale(root)
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{os.urandom(3).hex()}"
        tmp = root / f"tmp-{stamp}"
        tmp.mkdir()
        articles = site.published()
        if total:
            total(len(articles))
        fingerprints = _write_build(tmp, site, articles, progress, workers)
        name = f"b-{stamp}"
        os.rename(tmp, root / name)
        try:
            previous = read_name(root / CURRENT_FILE)
        except (OSError, ValueError):
            previous = None
        # Remember what was served before the swap: remove_stale keeps exactly that one
        # (names do not sort by age: two builds in one second differ by a random suffix).
        if previous and previous != name:
            write_atomically(root / PREVIOUS_FILE, previous + "\n")
        write_atomically(root / CURRENT_FILE, name + "\n")
        if swapped:
            swapped(name, fingerprints)
        remove_stale(root)
        return len(articles)


def _write_build(folder: Path, site: Site, articles: list[Article],
                 progress: Callable[[int], None] | None, workers: int = 1) -> Fingerprints:
    by_lang: dict[str, list[Article]] = {}
    for article in articles:
        by_lang.setdefault(article.lang, []).append(article)
    if workers > 1 and len(by_lang) > 1:
        fingerprints = _write_languages_in_workers(folder, site, by_lang, workers, progress)
    else:
        fingerprints = {}
        for lang, group in sorted(by_lang.items()):
            fingerprints[lang] = _write_language(folder, site, lang, group, progress)
    (folder / MANIFEST_FILE).write_text(json.dumps({
        "schema": SCHEMA_VERSION, "languages": sorted(by_lang), "articles": len(articles),
        "built": datetime.now().astimezone().isoformat(timespec="seconds"),
    }), encoding="utf-8")
    _fsync_tree(folder)  # complete on disk before CURRENT names it, even after a power cut
    return fingerprints


def _write_language(folder: Path, site: Site, lang: str, group: list[Article],
                    progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """One language's index, in one commit; returns its fingerprints."""
    ix = whoosh_index.create_in(str(folder), build_schema(lang), indexname=lang)
    writer = BulkWriter(ix)  # the files Whoosh's writer makes, in half its CPU
    found: dict[str, str] = {}
    parent = os.getppid()
    try:
        for article in group:
            doc = document(site, article)
            writer.add_document(**doc)
            found[article.slug] = doc["fingerprint"]
            if progress:
                progress(1)
            _stop_if_orphaned(parent)  # one syscall against milliseconds of indexing
        while _HOLD is not None and _HOLD.exists():  # a test holds the build here, midway
            _stop_if_orphaned(parent)
            time.sleep(0.01)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    ix.close()
    return found


# What a forked worker needs, set before the fork (a worker inherits it; nothing is pickled):
# the build folder, the site, the articles by language, and the count of articles the workers
# wrote (in shared memory: the progress bar advances by article, not by language).
_FORK_STATE: tuple[Path, Site, dict[str, list[Article]], Any] | None = None
PROGRESS_SECONDS = 0.2  # how often the build process reads the workers' count
_FORKED = False
# The build process's job may name a file: while it exists, each language's writer waits before
# its commit (tests stop a build midway with it, whatever the corpus' size).
_HOLD: Path | None = None


def _stop_if_orphaned(parent: int) -> None:
    """A forked worker whose build process was killed stops working for nobody."""
    if _FORKED and os.getppid() != parent:
        os._exit(1)


def _worker_language(lang: str) -> tuple[str, dict[str, str]]:
    assert _FORK_STATE is not None
    folder, site, by_lang, written = _FORK_STATE

    def count(done: int) -> None:
        with written.get_lock():
            written.value += done

    return lang, _write_language(folder, site, lang, by_lang[lang], count)


def _worker_start(parent: int) -> None:
    global _FORKED
    _FORKED = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Killed outright before it handed out the languages, the build process leaves its workers
    # waiting for a task forever: on Linux, the kernel terminates them with it.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the checks between documents remain
        pass
    _stop_if_orphaned(parent)  # gone before that call


def _write_languages_in_workers(folder: Path, site: Site, by_lang: dict[str, list[Article]], workers: int,
                                progress: Callable[[int], None] | None) -> Fingerprints:
    """Each language in a forked worker, the largest first (so the last to finish are short);
    `progress` hears of the articles the workers wrote every PROGRESS_SECONDS."""
    global _FORK_STATE
    context = multiprocessing.get_context("fork")
    written = context.Value("q", 0)
    _FORK_STATE = (folder, site, by_lang, written)
    order = sorted(by_lang, key=lambda lang: -len(by_lang[lang]))
    fingerprints: Fingerprints = {}
    reported = 0
    try:
        with context.Pool(min(workers, len(order)), _worker_start, (os.getpid(),)) as pool:
            results = pool.imap_unordered(_worker_language, order)
            while len(fingerprints) < len(order):
                try:
                    lang, found = results.next(timeout=PROGRESS_SECONDS)
                    fingerprints[lang] = found
                except multiprocessing.TimeoutError:
                    pass
                now = written.value
                if progress and now > reported:
                    progress(now - reported)
                    reported = now
    finally:
        _FORK_STATE = None
    return fingerprints


def remove_stale(root: Path) -> None:
    """Under the build lock: unfinished builds, and every build but the current one and
    the one it replaced.

    The previous build is kept: other processes keep serving it until their next look at
    CURRENT, and a searcher they open meanwhile needs its files.
    """
    keep = set()
    for state in (CURRENT_FILE, PREVIOUS_FILE):
        try:
            keep.add(read_name(root / state))
        except (OSError, ValueError):
            pass
    for entry in root.iterdir():
        if entry.is_dir() and entry.name not in keep and entry.name.startswith(("tmp-", "b-")):
            shutil.rmtree(entry, ignore_errors=True)


def _fsync_tree(path: Path) -> None:
    """Flush a finished build's files and folder to disk (Whoosh itself never fsyncs)."""
    for entry in [*path.iterdir(), path]:
        fd = os.open(entry, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- the build process -----------------------------------------------------------------------


def build_job(site: Site, root: Path, workers: int | None = None, hold: Path | None = None) -> bytes:
    """What the build process reads on stdin: the content folder, the index folder, the
    policy the server serves (None when it cannot be pickled: the child reads policy.yaml,
    as `kb index` does), how many workers to fork (None: one per CPU) and the file that, while
    it exists, holds every writer before its commit (tests; None: never held)."""
    try:
        return pickle.dumps((site.content_dir, root, site.policy, workers, hold))
    except Exception:  # noqa: BLE001 - whatever the policy holds that cannot be pickled
        return pickle.dumps((site.content_dir, root, None, workers, hold))


def start_build_process() -> subprocess.Popen[bytes]:
    """A plain `python -c`, not multiprocessing: forking a threaded server is unsafe, and
    "spawn" would re-run the server's main script in the child. Raises OSError."""
    env = dict(os.environ)
    package_root = str(Path(kb.__file__).resolve().parent.parent)  # this kb, installed or not
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", "import kb.search.builds; kb.search.builds.build_from_stdin()"],
        stdin=subprocess.PIPE, env=env)


def build_from_stdin() -> None:
    """Entry point of the build process: a build_job pickled on stdin."""
    global _HOLD
    content_dir, index_dir, policy, workers, _HOLD = pickle.loads(sys.stdin.buffer.read())  # our parent's job
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Terminated (the server stops): unwind, so the workers are stopped with this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # The version the server serves, not necessarily policy.yaml's (read only when none came).
    holder = PolicyHolder(policy) if policy is not None else PolicyHolder.from_file(content_dir)
    site = Site(content_dir, policy=holder, cache_file=index_dir / CONTENT_CACHE_FILE)
    site.load()
    # The loaded site lives until the process ends: the collector of each forked worker would
    # scan it again and again, writing to (so copying) every page of it.
    gc.freeze()
    build(index_dir, site, workers=workers or os.cpu_count() or 1)
