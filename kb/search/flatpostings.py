"""Each term's document numbers and weights, stored flat beside a full build's postings.

A search reads each of its terms' postings once per segment, as arrays (kb.search.vectors,
kept for every searcher of the segment). Read from Whoosh's blocks, that is every block of
the term decompressed and unpickled, the positions besides that the arrays do not need: at
50,000 articles ~17% of the CPU of searches whose terms were read for the first time. So the
full build's writer (kb.search.bulk.BulkWriter) also writes, per segment, the postings of
every term of every field as flat arrays, and a term's are a slice of them:

    a side file (kb.search.flatfiles) whose header gives the segment's id and document
    count and the number of terms and postings; then, each padded to 8 bytes:
    starts   uint64[terms]      where each term's postings start in the postings file (after
                                Whoosh's 4-byte tag: W3LeafMatcher._baseoffset), increasing
    firsts   uint64[terms + 1]  the index of each term's first posting (the last: postings)
    ids      uint32[postings]   the document numbers, in the segment, ascending in each term
    weights  float32[postings]  the weights, as Whoosh's blocks give them back: Whoosh keeps
                                each weight as a float32, and a block of equal weights as one
                                of them (or None for 1.0), read back as the same float32

A term is found by where its postings start, as the flat positions' terms are
(kb.search.positions, by W3TermInfo's extent): the proximity bonus then finds its positions
by the same number. A segment written by Whoosh's own writer (an edit, a fold) has no such
file, and a file that does not describe its segment, or a term it does not know or whose
posting count is not the segment's, are read from Whoosh's blocks: `term` answers None.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.reading import TermNotFound

from kb.search import flatfiles

EXTENSION = ".kbpost"
MAGIC = b"KBPOST\x00\x01"


@dataclass(frozen=True)
class FlatPostings:
    """A segment's postings file, as arrays over its bytes (no copy)."""

    starts: Any
    firsts: Any
    ids: Any
    weights: Any

    def of(self, start: int, count: int) -> tuple[Any, Any] | None:
        """The document numbers and weights (views, uint32 and float32) of the term whose
        postings start at `start` in the postings file and number `count`; None when this file
        has no such term."""
        found = flatfiles.term_range(self.starts, self.firsts, start, count)
        if found is None:
            return None
        first, end = found
        return self.ids[first:end], self.weights[first:end]


def term(reader: Any, fieldname: str, text: bytes) -> tuple[int, Any, Any] | None:
    """Where a term's postings start in a segment reader's postings file (as
    W3LeafMatcher._baseoffset), its document numbers and its weights, from the segment's flat
    postings; None when it has none, or none of this term as the segment has it."""
    flat = of_reader(reader)
    if flat is None:
        return None
    try:
        info = reader.term_info(fieldname, text)
    except TermNotFound:
        return None
    if not isinstance(info, W3TermInfo) or info.is_inlined():
        return None
    start = int(info.extent()[0]) + len(WHOOSH3_HEADER_MAGIC)
    found = flat.of(start, int(info.doc_frequency()))
    return None if found is None else (start, *found)


def of_reader(reader: Any) -> FlatPostings | None:
    """The postings file of a segment reader's segment, None when it has none (or not one
    that belongs to it); opened once per reader."""
    found: FlatPostings | None = flatfiles.of_reader(reader, "_kb_flat_postings", load)
    return found


def load(storage: Any, segment: Any) -> FlatPostings | None:
    """The postings file of `segment` in `storage`, when it has one that describes it."""
    return flatfiles.load(storage, segment, EXTENSION, MAGIC, _layout, lambda _, arrays: FlatPostings(*arrays))


def _layout(header: dict[str, Any]) -> list[tuple[str, int]]:
    terms, postings = int(header["terms"]), int(header["postings"])
    return [("<u8", terms), ("<u8", terms + 1), ("<u4", postings), ("<f4", postings)]


class Terms:
    """What a segment's postings file is made of, term after term, as BulkWriter writes them."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.firsts: list[int] = [0]
        # Every term's, one after another: extending these is one copy in C per term, where
        # numpy arrays per term would cost more than the copy for the many one-posting terms.
        self.ids: array[int] = array("I")
        self.weights: array[float] = array("d")  # as given: made float32 once, as Whoosh does

    def add(self, start: int, ids: array[int], weights: array[float]) -> None:
        """A term whose postings start at `start` in the postings file (after Whoosh's tag)."""
        self.starts.append(start)
        self.firsts.append(self.firsts[-1] + len(ids))
        self.ids.extend(ids)
        self.weights.extend(weights)

    def write(self, storage: Any, segment: Any, docs: int) -> None:
        """The file, as one of `segment`'s files in `storage` (before it is made compound)."""
        header = {"docs": docs, "terms": len(self.starts), "postings": len(self.ids)}
        arrays = [np.array(self.starts, dtype="<u8"), np.array(self.firsts, dtype="<u8"),
                  np.frombuffer(self.ids, dtype=np.uintc).astype("<u4"),
                  np.frombuffer(self.weights, dtype=np.float64).astype("<f4")]
        flatfiles.write(storage, segment, EXTENSION, MAGIC, header, arrays)
