"""Searchers benchmark: a thread's first search after an edit, its searcher opened afresh against
one that keeps the readers of the segments the edit did not change (kb.search.readers).

    python bench/searchers.py [--n 10000] [--seed 1] [--edits 40] [--workdir DIR]

Builds bench/corpus.py's corpus of N articles with the server's build process (or reuses the
index in DIR when its corpus and build are there already), then, edit after edit, re-indexes one
English article (SearchIndex.sync: a new segment, the older copy deleted, segments folded past
eight as the server does) and times the next search through SearchIndex.search, the server's
path. Edits alternate between the two ways of opening the searcher, in one process on one
index. Prints each way's median and 90th percentile and their ratio. The index and the articles
are copies: the ones in DIR are left as built. Each edit appends a sentence to the article's file
and reloads that file, as the tree watcher does.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import generate
from bench.search import timed_build
from kb.content.site import CONTENT_CACHE_FILE, Site
from kb.search import readers
from kb.search.index import SearchIndex
from kb.search.query import parse_query

QUERIES = ["premium support refund", "cancel my subscription", "password reset email", "backup storage"]


def opened_afresh(ix: Any, weighting: Any, previous: Any | None = None) -> Any:
    """The baseline: every segment opened again (what kb did before kb.search.readers)."""
    if previous is not None:
        previous.close()
    return ix.searcher(weighting=weighting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="articles in the corpus (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--edits", type=int, default=40, help="edits, half of them each way (default 40)")
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/kb-bench-searchers"))
    args = parser.parse_args()
    if args.n < 1 or args.edits < 2:
        parser.error("--n must be at least 1 and --edits at least 2")
    content, built_dir = args.workdir / "articles", args.workdir / "index"
    if not (built_dir.exists() and content.exists()):
        generate(content, args.n, args.seed)
        wall, cpu = timed_build(Site(content, cache_file=built_dir / CONTENT_CACHE_FILE), built_dir)
        print(f"full build of {args.n} articles: {wall:.1f} s, {cpu:.1f} CPU s in {built_dir}")
    index_dir, edited = args.workdir / "edited-index", args.workdir / "edited-articles"
    for copy, original in ((index_dir, built_dir), (edited, content)):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(original, copy)
    site = Site(edited, cache_file=index_dir / CONTENT_CACHE_FILE)
    site.load()
    gc.freeze()
    index = SearchIndex(index_dir)
    if not index.open():
        sys.exit(f"no index in {index_dir}")
    index.sync(site)  # reads the fingerprints
    english = [article.slug for article in site.published() if article.lang == "en"]
    for q in QUERIES:
        index.search("en", parse_query(q))
    ways = {"opened afresh": opened_afresh, "unchanged readers kept": readers.open_searcher}
    times: dict[str, list[float]] = {name: [] for name in ways}
    kept = readers.open_searcher
    try:
        for edit in range(args.edits):
            article = site.article("en", english[(edit * 7) % len(english)])
            path = site.content_dir / article.path
            with path.open("a", encoding="utf-8") as file:
                file.write(f"\nEdit {edit} of this article.\n")
            site.load([article.path])
            index.sync(site, keys=[("en", article.slug)])
            name = list(ways)[edit % 2]
            readers.open_searcher = ways[name]  # type: ignore[assignment]
            started = time.perf_counter()
            index.search("en", parse_query(QUERIES[edit % len(QUERIES)]))
            times[name].append((time.perf_counter() - started) * 1000)
    finally:
        readers.open_searcher = kept  # type: ignore[assignment]
        index.close()
    print(f"{args.n} articles; the first search of a thread after each edit, through SearchIndex.search:")
    for name, found in times.items():
        found.sort()
        print(f"  {name:24s} median {statistics.median(found):6.2f} ms   p90 {found[int(len(found) * 0.9)]:6.2f} ms"
              f"   (n={len(found)})")
    afresh, kept_times = (statistics.median(times[name]) for name in ways)
    print(f"  ratio afresh/kept (medians): x{afresh / kept_times:.2f}")


if __name__ == "__main__":
    main()
