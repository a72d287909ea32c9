"""`kb index`: build the search index aside and swap it in, with a progress bar."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import TYPE_CHECKING

from kb.cli.common import add_command, fail
from kb.config import Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers

BUSY_STATUS = 1
"""Another process holds the index's write lock: a state to retry later, not a usage error."""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "index", cmd_index,
        help="build the search index aside and swap it in (a running site picks it up)")
    parser.add_argument("--update", action="store_true",
                        help="only index the articles that changed since the index was built")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from kb.content.site import CONTENT_CACHE_FILE, Site
    from kb.policy.holder import PolicyHolder
    from kb.search.errors import SearchBusy
    from kb.search.index import SearchIndex

    # The server's parse cache: only what changed since it was stored is parsed again.
    site = Site(settings.content_dir, policy=PolicyHolder.from_file(settings.content_dir),
                cache_file=settings.index_dir / CONTENT_CACHE_FILE)
    site.load()
    gc.freeze()  # the forked build workers' collectors leave the loaded site (and its pages) alone
    index = SearchIndex(settings.index_dir)
    started = time.perf_counter()
    try:
        if args.update and index.open():
            written = index.sync(site)
            print(f"search index updated: {written} change(s) in "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
            return 0
        # Languages are built in forked processes, one per CPU, as the server's build process
        # does (10,000 articles in six languages on two cores: 13-17 s instead of 28-33 s); a
        # fork needs a process without threads, so the bar has no monitor thread (it advances
        # as the workers write articles, read from their shared count).
        tqdm.monitor_interval = 0
        with tqdm(unit=" articles", desc="indexing", file=sys.stderr, dynamic_ncols=True,
                  disable=args.quiet) as bar:
            def advance(done: int) -> None:
                bar.update(done)

            def total(count: int) -> None:
                bar.total = count
                bar.refresh()

            count = index.rebuild(site, progress=advance, total=total, workers=os.cpu_count() or 1)
    except SearchBusy as exc:
        return fail(str(exc), BUSY_STATUS)
    finally:
        index.close()
    elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed else 0.0
    print(f"search index built in {settings.index_dir}: {count} article(s) in {elapsed:.1f} s "
          f"({rate:.0f} articles/s)", file=sys.stderr)
    return 0
