"""Whoosh's per-document columns read whole, as arrays.

Whoosh reads a column value by value (a struct unpack and a file read each, a few µs); the
first search of a segment reads three columns for every document (the text's lengths for
BM25F, category and type for the facet counts): ~70 ms a language at 50,000 articles, paid by
the first customer after a start or a new build. The two kinds of column kb's schema uses are
laid out plainly, so each is one read and a numpy view of it:

- NumericColumn: one big-endian number per document written, and the column's default for the
  documents after the last one written;
- VarBytesColumn (a sortable ID's: category, type): every document's bytes one after the
  other, then their lengths (Whoosh's reader holds them and their offsets as arrays).

Any other reader (another codec, a column a segment lacks) is read as Whoosh reads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.columns import NumericColumn, VarBytesColumn

# struct typecodes whose size under "!" is numpy's for the same letter ("l" is not: 4 and 8)
_PLAIN_TYPECODES = frozenset("bBhHiIqQfd")


def numbers(reader: Any, count: int, dtype: Any) -> Any:
    """The `count` values of a numeric column as an array of `dtype`."""
    if type(reader) is not NumericColumn.Reader or reader._typecode not in _PLAIN_TYPECODES:
        return np.fromiter(reader, dtype=dtype, count=count)
    written = min(reader._count, count)
    data = reader._dbfile.get(reader._basepos, written * reader._fixedlen)
    values = np.full(count, reader._default, dtype=dtype)
    values[:written] = np.frombuffer(data, dtype=np.dtype(">" + reader._typecode), count=written)
    return values


def references(reader: Any, count: int) -> tuple[Any, list[bytes]] | None:
    """A bytes column's values as `count` references (int64) into its unique values; None when
    `reader` is not a variable-length column of `count` documents (read it as Whoosh does).
    Each document's bytes are a row of a matrix (zeros after their end, their length last), so
    that numpy finds the unique ones in one pass."""
    if type(reader) is not VarBytesColumn.Reader or reader._doccount != count:
        return None
    lengths = np.asarray(reader._lengths, dtype=np.int64)
    if not count:
        return np.zeros(0, dtype=np.int64), []
    offsets = np.asarray(reader._offsets, dtype=np.int64)
    data = np.frombuffer(reader._dbfile.get(reader._basepos, int((offsets + lengths).max())), dtype=np.uint8)
    width = int(lengths.max())
    at = offsets[:, None] + np.arange(width)[None, :]
    inside = np.arange(width)[None, :] < lengths[:, None]
    rows = np.zeros((count, width + 8), dtype=np.uint8)
    if len(data):
        rows[:, :width] = np.where(inside, data[at.clip(0, len(data) - 1)], 0)
    rows[:, width:] = lengths.astype("<u8").view(np.uint8).reshape(count, 8)
    keys = np.ascontiguousarray(rows).view(np.dtype((np.void, width + 8))).reshape(count)
    _, first, refs = np.unique(keys, return_index=True, return_inverse=True)
    return refs.reshape(-1).astype(np.int64), [reader[int(doc)] for doc in first]


def values(reader: Any, count: int) -> list[Any]:
    """A column's `count` values as stored (bytes, for a variable-length column), in document
    order: one read and a slice each rather than a file read each."""
    if type(reader) is not VarBytesColumn.Reader or reader._doccount != count:
        return list(reader)
    data = reader._dbfile.get(reader._basepos, max((o + n for o, n in zip(reader._offsets, reader._lengths)),
                                                   default=0))
    return [data[offset:offset + length] for offset, length in zip(reader._offsets, reader._lengths)]
