"""A segment's side file of flat arrays, written by the full build beside Whoosh's own files.

The flat positions (kb.search.positions) and the flat postings (kb.search.flatpostings) are
two such files; each is one of its segment's files (`<segment id><extension>`), so it goes
into the segment's compound file with the others, in the same atomic build, and is read in
place from the compound file's shared memory map (kb.search.mapped): only the pages touched
count in the process's RSS. Both are laid out the same way:

    MAGIC (8 bytes), then a little-endian uint32 n and n bytes of JSON: the header, with at
    least the segment's id and document count; then the arrays, each padded to 8 bytes (in
    the file: the compound file puts the file at any byte, so the arrays may be unaligned),
    the first two in both: `starts` (uint64, where each term's postings start in Whoosh's
    postings file, increasing) and `firsts` (uint64, the index of each term's first posting,
    then the header's count of postings).

A file that does not describe its segment (another MAGIC, id or document count, another
length than its header's arrays, or terms out of order) is not read: `load` answers None, and the caller reads
Whoosh's blocks as before.
"""

from __future__ import annotations

import json
import struct
from bisect import bisect_left
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from whoosh.filedb.structfile import BufferFile

# The header gives the arrays' types and lengths, in the file's order.
Layout = Callable[[dict[str, Any]], list[tuple[str, int]]]
Kept = TypeVar("Kept")
_UINT32 = struct.Struct("<I")
_ALIGN = 8


def load(storage: Any, segment: Any, extension: str, magic: bytes, layout: Layout,
         make: Callable[[dict[str, Any], list[Any]], Kept | None]) -> Kept | None:
    """`make(header, arrays)` (the arrays: views of the file's bytes, no copy) of `segment`'s
    file `extension` in `storage`, when it has one that describes it; None otherwise (`make`
    checks what is the kind's own and answers None too when that does not hold)."""
    name = segment.make_filename(extension)
    try:
        if not storage.file_exists(name):
            return None
        handle = storage.open_file(name)
    except (OSError, KeyError, ValueError):
        return None
    try:
        buffer = handle._buf if isinstance(handle, BufferFile) and handle._buf is not None else handle.read()
    finally:
        handle.close()
    try:
        found = _parse(memoryview(buffer).cast("B"), magic, segment.segment_id(), segment.doc_count_all(), layout)
    except (ValueError, TypeError, KeyError, struct.error):
        return None
    return None if found is None else make(*found)


def _parse(data: memoryview, magic: bytes, segment_id: str, docs: int,
           layout: Layout) -> tuple[dict[str, Any], list[Any]] | None:
    if bytes(data[:len(magic)]) != magic:
        return None
    (size,) = _UINT32.unpack_from(data, len(magic))
    start = len(magic) + _UINT32.size
    header = json.loads(bytes(data[start:start + size]))
    if header.get("segment") != segment_id or header.get("docs") != docs:
        return None
    at = _padded(start + size)
    arrays = []
    for kind, length in layout(header):
        dtype = np.dtype(kind)
        arrays.append(np.frombuffer(data, dtype=dtype, count=length, offset=at))
        at = _padded(at + dtype.itemsize * length)
    if at != _padded(len(data)):
        return None  # a file of another length than its header says
    starts, firsts = arrays[0], arrays[1]
    if int(firsts[0]) != 0 or int(firsts[-1]) != int(header["postings"]) \
            or bool((np.diff(starts.astype(np.int64)) <= 0).any()):
        return None
    return header, arrays


def write(storage: Any, segment: Any, extension: str, magic: bytes, header: dict[str, Any],
          arrays: list[Any]) -> None:
    """`segment`'s file `extension` in `storage` (before it is made compound): `header` with
    the segment's id and `header["docs"]`, then `arrays` (numpy arrays of explicit byte order)."""
    encoded = json.dumps({"segment": segment.segment_id(), **header}).encode("utf-8")
    handle = segment.create_file(storage, extension)
    try:
        at = len(magic) + _UINT32.size + len(encoded)
        handle.write(magic + _UINT32.pack(len(encoded)) + encoded)
        for array in arrays:
            handle.write(b"\x00" * (_padded(at) - at))
            at = _padded(at)
            handle.write(array.tobytes())
            at += array.nbytes
        handle.write(b"\x00" * (_padded(at) - at))
    finally:
        handle.close()


def _padded(at: int) -> int:
    return -(-at // _ALIGN) * _ALIGN


def of_reader(reader: Any, key: str, load_file: Callable[[Any, Any], Any]) -> Any:
    """`load_file(storage, segment)` of a segment reader's segment, once per reader (kept in
    the reader under `key`)."""
    kept = reader.__dict__.get(key, False)
    if kept is False:
        kept = reader.__dict__[key] = load_file(reader.storage(), reader.segment())
    return kept


def term_range(starts: Any, firsts: Any, start: int, count: int) -> tuple[int, int] | None:
    """Where the postings of the term whose postings start at `start` in Whoosh's postings
    file lie in a file's per-posting arrays (`starts`: each term's, increasing; `firsts`: the
    index of each term's first posting, and the total); None when the file has no such term
    or not with `count` postings (not the term the segment has)."""
    # Bisected in Python: the arrays lie where Whoosh put the file in the compound file, at
    # any byte, and numpy's searchsorted copies an unaligned array whole first (with a Python
    # int, it made every start a float too): ~5 us against ~1.5 us per look-up.
    at = bisect_left(starts, start)
    if at >= len(starts) or int(starts[at]) != start:
        return None
    first, end = int(firsts[at]), int(firsts[at + 1])
    return (first, end) if end - first == count else None
