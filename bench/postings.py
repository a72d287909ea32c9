"""Postings benchmark: the CPU of reading a search's terms for the first time, from Whoosh's
blocks against the full build's flat postings (kb.search.flatpostings).

    python bench/postings.py [--n 5000] [--seed 1] [--rounds 7] [--workdir DIR]

Builds bench/corpus.py's corpus of N articles with the server's build process (or reuses the
index in DIR when its corpus and build are there already), runs bench/search.py's 500 distinct
queries once to learn which terms of which segments they read (kb.search.vectors.postings),
then, round after round, reads all those terms with nothing kept: once decoded from the blocks
(the flat postings ignored), once sliced from the flat postings, in alternating order. Prints
each way's CPU per round (median and spread) and checks both give the same arrays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import generate
from bench.search import query_sets, timed_build
from kb.content.site import CONTENT_CACHE_FILE, Site
from kb.search import flatpostings, matches, vectors
from kb.search.index import SearchIndex
from kb.search.query import parse_query

Read = tuple[Any, str, bytes]  # (segment reader, field, term)


def terms_read(index: SearchIndex, queries: list[tuple[str, str]]) -> list[Read]:
    """Each (reader, field, term) the queries read postings of, once, in the order first read."""
    seen: dict[tuple[int, str, bytes], Read] = {}
    original = vectors.postings

    def recording(reader: Any, fieldname: str, text: bytes) -> vectors.Postings:
        seen.setdefault((id(reader), fieldname, text),
                        (reader, fieldname, text))
        return original(reader, fieldname, text)

    vectors.postings = recording  # type: ignore[assignment]
    try:
        for lang, q in queries:
            index.search(lang, parse_query(q))
    finally:
        vectors.postings = original  # type: ignore[assignment]
    return list(seen.values())


def read_all(reads: list[Read], flat: bool) -> tuple[float, list[vectors.Postings]]:
    """CPU seconds to read every term with nothing kept, and what was read."""
    vectors.clear()
    matches._blocks.clear()
    term = flatpostings.term
    if not flat:
        flatpostings.term = lambda reader, fieldname, text: None  # the blocks, as before
    try:
        started = time.process_time()
        found = [vectors.postings(reader, fieldname, text) for reader, fieldname, text in reads]
        return time.process_time() - started, found
    finally:
        flatpostings.term = term


def same(a: list[vectors.Postings], b: list[vectors.Postings]) -> bool:
    return all(np.array_equal(x.ids, y.ids) and np.array_equal(x.weights, y.weights)
               and x.blocks[0] == y.blocks[0] for x, y in zip(a, b, strict=True))


def summary(name: str, values: list[float]) -> str:
    return (f"  {name:<28} median {statistics.median(values) * 1000:8.1f} ms CPU   "
            f"min {min(values) * 1000:8.1f}   max {max(values) * 1000:8.1f}   (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5_000, help="articles in the corpus (default 5000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm/kb-bench-postings"))
    args = parser.parse_args()
    content, index_dir = args.workdir / "articles", args.workdir / "index"
    built = index_dir.exists() and content.exists()
    corpus = generate(content, args.n, args.seed) if not built else None
    site = Site(content, cache_file=index_dir / CONTENT_CACHE_FILE)
    site.load()
    if corpus is not None:
        wall, cpu = timed_build(site, index_dir)
        print(f"full build of {args.n} articles: {wall:.1f} s, {cpu:.1f} CPU s in {index_dir}")
    else:  # query_sets needs the corpus' vocabulary: generated again, in a scratch folder
        corpus = generate(args.workdir / "scratch", args.n, args.seed)
    index = SearchIndex(index_dir)
    index.open()
    queries = query_sets(corpus, site, 10, args.seed)["distinct"]
    reads = terms_read(index, queries)
    print(f"{len(queries)} distinct queries read {len(reads)} terms of {len({id(r) for r, _, _ in reads})} "
          f"segments ({sum(len(vectors.postings(*read).ids) for read in reads)} postings)")
    ways: dict[str, Callable[[], tuple[float, list[vectors.Postings]]]] = {
        "blocks (before)": lambda: read_all(reads, flat=False),
        "flat postings (after)": lambda: read_all(reads, flat=True),
    }
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    kept: dict[str, list[vectors.Postings]] = {}
    for round_ in range(args.rounds):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for name in order:
            seconds, kept[name] = ways[name]()
            cpu[name].append(seconds)
    assert same(kept["blocks (before)"], kept["flat postings (after)"]), "the two ways read different postings"
    for name, values in cpu.items():
        print(summary(name, values))
    ratios = [b / a for a, b in zip(cpu["flat postings (after)"], cpu["blocks (before)"], strict=True)]
    print(f"  blocks / flat, paired by round: median {statistics.median(ratios):.1f}x")
    index.close()


if __name__ == "__main__":
    main()
