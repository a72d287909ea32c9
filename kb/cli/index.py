"""`kb index`: build the search index aside and swap it in, with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from kb.config import Settings


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from kb.search.index import SearchBusy, SearchIndex
    from kb.content.site import Site

    site = Site(settings.content_dir)
    site.load()
    index = SearchIndex(settings.index_dir)
    started = time.perf_counter()
    try:
        if args.update and index.open():
            written = index.sync(site)
            print(f"search index updated: {written} change(s) in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            return 0
        with tqdm(unit=" articles", desc="indexing", file=sys.stderr, dynamic_ncols=True,
                  disable=args.quiet) as bar:
            def total(count: int) -> None:
                bar.total = count
                bar.refresh()

            count = index.rebuild(site, progress=bar.update, total=total)
    except SearchBusy as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return 1
    finally:
        index.close()
    elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed else 0.0
    print(f"search index built in {settings.index_dir}: {count} article(s) in {elapsed:.1f} s "
          f"({rate:.0f} articles/s)", file=sys.stderr)
    return 0


def register(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser(
        "index", help="build the search index aside and swap it in (a running site picks it up)")
    add_common(parser)
    parser.add_argument("--update", action="store_true",
                        help="only index the articles that changed since the index was built")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=cmd_index)
