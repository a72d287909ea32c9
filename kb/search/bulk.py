"""The full build's writer: the segment Whoosh's own writer makes, with less Python per posting.

Whoosh's SegmentWriter puts every posting into a sorting pool as a tuple, sorts them all at
commit, then passes them one by one through four calls that, among other things, read the
document's field length back from the column file just written: at 10,000 articles that
commit was half of a full build's CPU. A full build writes one new segment from nothing, in
document order, so each term's postings arrive sorted already: BulkWriter keeps them per term,
keeps the field lengths in memory, and hands the postings writer whole blocks.

Each field's postings are gathered by kb.search.bulkfields, which analyses the fields kb's
schema defines (kb.search.analysis) as Whoosh's chain of token generators would, on arrays, and
any other field through Whoosh's own `field.index`.

The files are those Whoosh's writer makes from the same documents (same terms, postings,
weights, lengths, block statistics, stored fields and columns): tests/unit/test_search_bulk.py
compares both, term by term. Besides them, it writes the segment's flat positions (each posting's
positions as arrays, kb.search.positions) into the same compound file, from the positions the
analysis found: the proximity bonus slices them instead of decoding Whoosh's blocks; and the
flat postings (every term's document numbers and weights, kb.search.flatpostings), which a
search reads its terms from. Only what
kb's schema uses is supported: no term vectors, no separate spelling fields, no per-document
boosts (a `_` field), no existing segments.
"""

from __future__ import annotations

import zlib
from array import array
from operator import sub
from pickle import dumps
from typing import Any

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3TermInfo
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from kb.search import flatpostings
from kb.search import positions as flat_positions
from kb.search.bulkfields import Gatherer, Postings, gatherer

_ZERO = array("I", [0])


class BulkWriter(SegmentWriter):  # type: ignore[misc]
    """A writer for a new, empty index, committed once (`commit()`, or `cancel()`)."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        if self.segments:
            self.cancel()
            raise ValueError("BulkWriter writes a new index: this one has documents")
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                self.cancel()
                raise ValueError(f"BulkWriter cannot write the term vectors or spelling of {name!r}")
        self._fields: dict[str, Gatherer] = {
            name: gatherer(field) for name, field in self.schema.items() if field.indexed}
        # field -> docnum -> the length the lengths column gives back (quantized to a byte)
        self._lengths: dict[str, dict[int, int]] = {}

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        names = sorted(fields)
        if any(name.startswith("_") for name in names):
            raise ValueError("BulkWriter takes no boosts nor custom stored values")
        self._check_fields(self.schema, names)
        docnum = self.docnum
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = self.schema[name]
                length = 0
                if field.indexed:
                    length = self._fields[name].add(value, docnum)
                    if not field.scorable:
                        length = 0
                    elif length:
                        self._keep_length(name, docnum, length)
                perdoc.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _keep_length(self, name: str, docnum: int, length: int) -> None:
        stored = length_to_byte(length)
        read_back = byte_to_length(stored) if stored else 0
        if read_back:  # add_posting ignores a length of 0 or None
            self._lengths.setdefault(name, {})[docnum] = read_back

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        writer = self.fieldwriter
        flat = flat_positions.Terms()
        flat_postings = flatpostings.Terms()
        for name in sorted(self._fields):
            lengths = None
            if name in self._lengths:  # by docnum (0: none), for the blocks' shortest and longest
                lengths = [0] * self.docnum
                for docnum, length in self._lengths[name].items():
                    lengths[docnum] = length
            started = False
            for tbytes, postings, positions in self._fields[name].grouped():
                if not started:
                    writer.start_field(name, self.schema[name])
                    started = True
                start = _write_term(writer, tbytes, postings, lengths) + len(WHOOSH3_HEADER_MAGIC)
                flat_postings.add(start, postings[0], postings[1])
                if positions is not None:
                    flat.add(start, *positions)
            if started:
                writer.finish_field()
        writer.close()
        # Two of the segment's files: made compound with the others, in the same commit.
        flat.write(self.storage, self.newsegment, self.docnum)
        flat_postings.write(self.storage, self.newsegment, self.docnum)
        self._fields.clear()


def _write_term(fields: W3FieldWriter, term: bytes, postings: Postings, lengths: list[int] | None) -> int:
    """The bytes fields.start_term(term), add_posting for each posting and fields.finish_term()
    write (W3PostingsWriter._write_block, W3TermInfo.add_block, finish_postings), a block at a
    time instead of a posting at a time; returns where they start in the postings file."""
    writer = fields._postwriter
    fixed = fields._format.fixed_value_size()
    compression = writer._compression
    limit = writer._blocklimit
    info = W3TermInfo()
    chunks = [WHOOSH3_HEADER_MAGIC]
    docs, weights, values = postings
    count = len(docs)
    for begin in range(0, count, limit):
        end = min(begin + limit, count)
        ids = docs[begin:end]
        block_weights = array("f", weights[begin:end])  # as add_posting keeps them
        maxweight = max(0, max(weights[begin:end]))  # compared before, as given
        minlength, maxlength = None, 0
        if lengths is not None:
            found = list(map(lengths.__getitem__, ids))
            if 0 in found:
                found = [length for length in found if length]
            if found:
                minlength, maxlength = min(found), max(found)
        info._weight += sum(block_weights)
        info._df += len(ids)
        info._minlength = minlength if info._minlength is None else min(info._minlength, minlength)
        info._maxlength = max(info._maxlength, maxlength)
        info._maxweight = max(info._maxweight, maxweight)
        if info._minid is None:
            info._minid = ids[0]
        info._maxid = ids[-1]
        if block_weights.count(1.0) == len(block_weights):
            mini_weights: Any = None
        elif block_weights.count(block_weights[0]) == len(block_weights):
            mini_weights = block_weights[0]
        else:
            mini_weights = tuple(block_weights)
        mini_values: Any = None
        if fixed is None or fixed != 0:
            kept = values[begin:end]
            if not all(kept):
                kept = [value for value in kept if value]  # add_posting keeps no empty value
            mini_values = tuple(kept) if fixed is None or fixed < 0 else b"".join(kept)
        deltas = tuple(map(sub, ids, _ZERO + ids[:-1]))  # delta_encode
        data = dumps((deltas, mini_weights, mini_values), 2)
        if compression:
            data = zlib.compress(data, compression)
        header = dumps((len(ids), ids[-1], maxweight, compression, length_to_byte(minlength),
                        length_to_byte(maxlength)), 2)
        size = len(header) + len(data)
        chunks += (pack_int(-size if end == count else size), header, data)  # the last one's is negative
    written = b"".join(chunks)
    postfile = writer._postfile
    start = postfile.tell()
    postfile.write(written)
    info.set_extent(start, len(written))
    fields._tindex.add(pack_ushort(fields._fieldid) + term, info.to_bytes())
    return int(start)
