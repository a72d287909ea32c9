"""Where each word of a document stands, stored flat beside a full build's postings.

The proximity bonus (kb.search.proximity) reads the positions of a few words in the best few
hundred hits. Whoosh keeps a posting's positions inside its block of postings, pickled with
the block's ids and weights and zlib-compressed: reading one posting's positions decodes its
whole block (~0.09 ms), and at 50,000 articles a slow search decoded ~200 of them, more than
the kept decoded blocks (kb.search.matches.BLOCKS_KEPT) could hold. So the full build's writer
(kb.search.bulk.BulkWriter) also writes, per segment, one file of every positions-format
term's positions as flat arrays, and a posting's positions are a slice of it:

    MAGIC, then a little-endian uint32 n and n bytes of JSON: the segment's id and document
    count, the number of terms, postings and positions and the arrays' types; then, each
    padded to 8 bytes (kb.search.flatfiles):
    starts     uint64[terms]      where each term's postings start in the postings file (after
                                  Whoosh's 4-byte tag: W3LeafMatcher._baseoffset), increasing
    firsts     uint64[terms + 1]  the index of each term's first posting (the last: postings)
    offsets    uint32/64[postings + 1]  where each posting's positions start in `flat`
    flat       uint16/32[positions]     the positions, in posting order, each ascending

The file is a side file of the segment (kb.search.flatfiles: written into its compound file in
the same atomic build, read in place from the shared memory map). A segment written by Whoosh's
own writer (an edit, a fold) has none, and a file that does not describe its segment (another
id, document count or length) or a term it does not know or whose posting count differs are
read as before, from Whoosh's blocks: `Flat.of` answers None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.search import flatfiles

EXTENSION = ".kbpos"
MAGIC = b"KBPOS\x00\x00\x01"


@dataclass(frozen=True)
class Flat:
    """A segment's positions file, as arrays over its bytes (no copy)."""

    starts: Any
    firsts: Any
    offsets: Any
    flat: Any

    def of(self, start: int, count: int) -> tuple[Any, Any] | None:
        """The positions of the term whose postings start at `start` in the postings file and
        number `count`: its postings' offsets into `flat` (count + 1 of them) and `flat`; None
        when this file has no such term."""
        found = flatfiles.term_range(self.starts, self.firsts, start, count)
        if found is None:
            return None
        first, end = found
        return self.offsets[first:end + 1], self.flat


def positions(flat: tuple[Any, Any], index: int) -> frozenset[int]:
    """The positions of a term's posting `index` (of `Flat.of`'s answer)."""
    offsets, values = flat
    return frozenset(values[int(offsets[index]):int(offsets[index + 1])].tolist())


def of_reader(reader: Any) -> Flat | None:
    """The positions file of a segment reader's segment, None when it has none (or not one
    that belongs to it); opened once per reader."""
    found: Flat | None = flatfiles.of_reader(reader, "_kb_flat", load)
    return found


def load(storage: Any, segment: Any) -> Flat | None:
    """The positions file of `segment` in `storage`, when it has one that describes it."""
    return flatfiles.load(storage, segment, EXTENSION, MAGIC, _layout, _flat)


def _flat(header: dict[str, Any], arrays: list[Any]) -> Flat | None:
    offsets = arrays[2]
    if int(offsets[0]) != 0 or int(offsets[-1]) != int(header["positions"]):
        return None
    return Flat(*arrays)


def _layout(header: dict[str, Any]) -> list[tuple[str, int]]:
    terms, postings = int(header["terms"]), int(header["postings"])
    return [("<u8", terms), ("<u8", terms + 1), (header["offset_type"], postings + 1),
            (header["position_type"], int(header["positions"]))]


class Terms:
    """What a segment's positions file is made of, term after term, as BulkWriter writes them."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.firsts: list[int] = [0]
        self.counts: list[Any] = []  # per term: positions per posting (uint32 arrays)
        self.flat: list[Any] = []  # per term: its postings' positions (uint32 arrays)

    def add(self, start: int, counts: Any, flat: Any) -> None:
        """A term whose postings start at `start` in the postings file (after Whoosh's tag)."""
        self.starts.append(start)
        self.firsts.append(self.firsts[-1] + len(counts))
        self.counts.append(np.asarray(counts, dtype=np.uint32))
        self.flat.append(np.asarray(flat, dtype=np.uint32))

    def write(self, storage: Any, segment: Any, docs: int) -> None:
        """The file, as one of `segment`'s files in `storage` (before it is made compound)."""
        counts = np.concatenate(self.counts).astype(np.uint64) if self.counts else np.zeros(0, np.uint64)
        flat = np.concatenate(self.flat) if self.flat else np.zeros(0, np.uint32)
        offsets = np.zeros(len(counts) + 1, dtype=np.uint64)
        np.cumsum(counts, out=offsets[1:])
        offset_type = "<u4" if len(flat) < 2**32 else "<u8"
        position_type = "<u2" if not len(flat) or int(flat.max()) < 2**16 else "<u4"
        header = {"docs": docs, "terms": len(self.starts), "postings": len(counts), "positions": len(flat),
                  "offset_type": offset_type, "position_type": position_type}
        arrays = [np.array(self.starts, dtype="<u8"), np.array(self.firsts, dtype="<u8"),
                  offsets.astype(offset_type), flat.astype(position_type)]
        flatfiles.write(storage, segment, EXTENSION, MAGIC, header, arrays)
