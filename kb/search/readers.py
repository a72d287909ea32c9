"""A language's searcher on the index's last generation that keeps the readers of the segments
which did not change.

An edit adds a segment and marks the article's older copy deleted in another: the next search
of each thread needs a searcher on that generation. Opening every segment again costs tens of
milliseconds at 50,000 articles, and drops what each reader keeps once read (the flat postings
and positions it sliced its terms from). Whoosh's own `Searcher.refresh` reuses readers
too, but by segment id alone: a segment whose deletions changed keeps its old reader, so an
updated article would still be found under its old words, and the readers of segments a fold
removed are kept as well. Here a reader is kept only for a segment of the same id with the same
deletions (a segment's documents never change and its deletions only grow); every other
segment gets a new reader, and the old readers nobody kept are closed.
"""

from __future__ import annotations

import contextlib
from typing import Any

from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher


def _identity(segment: Any) -> tuple[str, int]:
    return segment.segment_id(), segment.deleted_count()


def open_searcher(ix: Any, weighting: Any, previous: Any | None = None) -> Any:
    """A searcher on `ix`'s last generation. With `previous` (a searcher on an older generation
    of the same index, not used after this call, also when it raises), the readers of its
    unchanged segments are kept and the others closed."""
    if previous is None:
        return ix.searcher(weighting=weighting)
    try:
        return _keeping(ix, weighting, previous)
    except BaseException:
        with contextlib.suppress(Exception):  # closing what may be gone already (a removed build)
            previous.close()
        raise


def _keeping(ix: Any, weighting: Any, previous: Any) -> Any:
    toc = ix._read_toc()
    if len(toc.segments) < 2:  # a full build or a fold: nothing to keep (what ix.searcher() opens)
        fresh = SegmentReader(ix.storage, ix.schema, toc.segments[0], generation=toc.generation) \
            if toc.segments else EmptyReader(ix.schema)
        previous.close()
        return Searcher(fresh, weighting=weighting, fromindex=ix)
    unused = {_identity(leaf.segment()): leaf for leaf, _ in previous.reader().leaf_readers()
              if leaf.segment() is not None}
    readers: list[Any] = []
    opened: list[Any] = []
    try:
        for segment in toc.segments:
            reader = unused.pop(_identity(segment), None)
            if reader is None:
                reader = SegmentReader(ix.storage, ix.schema, segment, generation=toc.generation)
                opened.append(reader)
            readers.append(reader)
    except BaseException:
        for reader in opened:
            reader.close()
        raise
    for reader in unused.values():
        reader.close()
    return Searcher(MultiReader(readers, generation=toc.generation), weighting=weighting, fromindex=ix)
