"""The full build's writer: the segment Whoosh's own writer makes, with less Python per posting.

Whoosh's SegmentWriter puts every posting into a sorting pool as a tuple, sorts them all at
commit, then passes them one by one through four calls that, among other things, read the
document's field length back from the column file just written: at 10,000 articles that
commit was half of a full build's CPU. A full build writes one new segment from nothing, in
document order, so each term's postings arrive sorted already: BulkWriter keeps them per term,
keeps the field lengths in memory, and hands the postings writer whole blocks.

The analysis of the fields kb's schema defines (kb.search.analysis) is done here too, as
Whoosh's chain of token generators would do it but with one dictionary look-up per word: what
each word form becomes (lowercased, folded, stop word or not, stemmed) is worked out once per
build. A field analysed otherwise goes through Whoosh's own `field.index`.

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
from collections import Counter
from collections.abc import Callable
from operator import sub
from pickle import dumps
from typing import Any

from whoosh.analysis import CharsetFilter, IDTokenizer, LowercaseFilter, NgramFilter, RegexTokenizer
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3TermInfo
from whoosh.fields import FieldType
from whoosh.formats import Existence, Frequency, Positions
from whoosh.support.charset import accent_map
from whoosh.system import emptybytes, pack_int, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from kb.search import flatpostings
from kb.search import positions as flat_positions
from kb.search.analysis import (
    FIELD_BOOSTS,
    SECTION_GAP,
    SECTION_MARK,
    LanguageFilter,
    SectionTokenizer,
    stem_pair,
    stopwords,
)

# A term's postings while the segment is written: document numbers, weights (doubles: Whoosh
# compares the weights as given, then stores them as floats) and encoded values.
_Postings = tuple["array[int]", "array[float]", list[bytes]]
# A positions field's terms as the analyser gives them: the positions' count in each posting and
# the positions, one posting after another (kb.search.positions' file is made of them).
_Flat = tuple["array[int]", "array[int]"]
_ZERO = array("I", [0])
_WORD_CACHE = 1_000_000  # word forms remembered per field (a build's vocabulary is far smaller)


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
        # field -> term -> its postings' positions, for the fields the fast analysers index
        self._flat: dict[str, dict[bytes, _Flat]] = {
            name: {} for name, field in self.schema.items() if field.indexed and type(field.format) is Positions}
        self._analysers: dict[str, tuple[Analyser | None, Analyser]] = {
            name: (fast_analyser(field, self._flat.get(name)), whoosh_analyser(field))
            for name, field in self.schema.items() if field.indexed}
        self._terms: dict[str, dict[bytes, _Postings]] = {name: {} for name in self._analysers}
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
                    fast, whooshs = self._analysers[name]
                    analyse = fast if fast is not None and isinstance(value, str) else whooshs
                    if analyse is whooshs:
                        self._flat.pop(name, None)  # positions the fast analyser does not keep
                    length = analyse(value, docnum, self._terms[name])
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
        for name in sorted(self._terms):
            terms = self._terms[name]
            if not terms:
                continue
            kept = self._flat.get(name)
            lengths = None
            if name in self._lengths:  # by docnum (0: none), for the blocks' shortest and longest
                lengths = [0] * self.docnum
                for docnum, length in self._lengths[name].items():
                    lengths[docnum] = length
            writer.start_field(name, self.schema[name])
            for tbytes in sorted(terms):
                postings = terms[tbytes]
                start = _write_term(writer, tbytes, postings, lengths) + len(WHOOSH3_HEADER_MAGIC)
                flat_postings.add(start, postings[0], postings[1])
                if kept is not None:
                    counts, at = kept[tbytes]
                    flat.add(start, counts, at)
            writer.finish_field()
        writer.close()
        # Two of the segment's files: made compound with the others, in the same commit.
        flat.write(self.storage, self.newsegment, self.docnum)
        flat_postings.write(self.storage, self.newsegment, self.docnum)
        self._terms.clear()
        self._flat.clear()


def _write_term(fields: W3FieldWriter, term: bytes, postings: _Postings, lengths: list[int] | None) -> int:
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


# --- analysis ---------------------------------------------------------------------------------
# An analyser adds one document's postings of one field to the field's terms and returns the
# field's length (the sum of its frequencies), as Whoosh's add_document would from field.index.
Analyser = Callable[[Any, int, dict[bytes, _Postings]], int]
_UINTS = [pack_uint(count) for count in range(256)]  # Frequency's values of the usual counts


def _posting(terms: dict[bytes, _Postings], term: bytes, docnum: int, weight: float, value: bytes) -> None:
    postings = terms.get(term)
    if postings is None:
        postings = terms[term] = (array("I"), array("d"), [])
    postings[0].append(docnum)
    postings[1].append(weight)
    postings[2].append(value)


def whoosh_analyser(field: Any) -> Analyser:
    """field.index itself; its answers kept for values seen before when they are few (dates,
    categories, types: not the keys)."""
    seen: dict[Any, list[tuple[bytes, int, float, bytes]]] = {}

    def analyse(value: Any, docnum: int, terms: dict[bytes, _Postings]) -> int:
        try:
            items = seen.get(value)
        except TypeError:  # a list of words
            items = None
        if items is None:
            items = list(field.index(value))
            if len(seen) < _WORD_CACHE // 100 and not isinstance(value, list):
                seen[value] = items
        length = 0
        for term, frequency, weight, encoded in items:
            length += frequency
            _posting(terms, term, docnum, weight, encoded)
        return length

    return analyse


def fast_analyser(field: Any, flat: dict[bytes, _Flat] | None = None) -> Analyser | None:
    """What field.index gives, made faster, for the analyzers of kb.search.analysis; None for
    any other field (whoosh_analyser). Only for text: a list of words is whoosh_analyser's.
    A field stored with positions also adds each posting's positions to `flat`, by term."""
    if type(field).index is not FieldType.index:  # NUMERIC, DATETIME...: their own terms
        return None
    analyzer = getattr(field, "analyzer", None)
    fmt: Any = getattr(field, "format", None)
    if type(analyzer) is IDTokenizer and type(fmt) is Existence:
        return _id_analyser(fmt.field_boost)
    steps = getattr(analyzer, "items", None)
    if not steps or type(fmt) not in (Positions, Frequency):
        return None
    tokenizer, filters = steps[0], steps[1:]
    if type(tokenizer) not in (RegexTokenizer, SectionTokenizer) or tokenizer.gaps:
        return None
    kinds = [type(step) for step in filters]
    findall = tokenizer.expression.findall
    positions = type(fmt) is Positions
    if kinds == [LowercaseFilter, LanguageFilter]:
        language = filters[1]
        return _language_analyser(fmt, findall, type(tokenizer) is SectionTokenizer, positions,
                                  language.lang, language.keep_stops, flat if positions else None)
    if positions or kinds[:2] != [LowercaseFilter, CharsetFilter] or filters[1].charmap is not accent_map:
        return None
    if len(kinds) == 2:
        return _plain_analyser(fmt, findall, 1, 0)
    if kinds[2:] == [NgramFilter] and filters[2].at == -1:
        return _plain_analyser(fmt, findall, filters[2].min, filters[2].max)
    return None


def _id_analyser(field_boost: float) -> Analyser:
    """IDTokenizer, stored as Existence: the value is the term."""

    def analyse(value: str, docnum: int, terms: dict[bytes, _Postings]) -> int:
        _posting(terms, value.encode("utf-8"), docnum, field_boost, emptybytes)
        return 1

    return analyse


def _language_analyser(fmt: Any, findall: Callable[[str], list[str]], sections: bool,
                       positions: bool, lang: str, keep_stops: bool,
                       flat: dict[bytes, _Flat] | None = None) -> Analyser:
    """LowercaseFilter | LanguageFilter after a RegexTokenizer or SectionTokenizer, stored with
    positions (Positions, kept in `flat` too) or frequencies (Frequency)."""
    stops = stopwords(lang)
    pair = stem_pair(lang)
    forms: dict[str, tuple[bytes, ...] | None] = {}  # word as written -> its terms (None: dropped)
    boosts = list(FIELD_BOOSTS.values())
    field_boost = fmt.field_boost
    encode: Any = fmt.encode if positions else None
    at_one: dict[int, bytes] = {}  # position -> the pickle in Positions' value of a word said once, there

    def terms_of(word: str) -> tuple[bytes, ...] | None:
        text = word.lower()
        if not keep_stops and text.translate(accent_map) in stops:
            return None
        first, second = pair(text)
        return (first.encode("utf-8"),) if second is None else (first.encode("utf-8"), second.encode("utf-8"))

    def analyse(value: str, docnum: int, terms: dict[bytes, _Postings]) -> int:
        split = sections and SECTION_MARK in value
        found: dict[bytes, list[int]] = {}
        weights: dict[bytes, float] = {}
        pos = removed = 0  # renumbered over removed stop words, as LanguageFilter does
        for index, section in enumerate(value.split(SECTION_MARK) if split else (value,)):
            boost = boosts[index] if split and index < len(boosts) else 1.0
            words = findall(section)
            for offset, word in enumerate(words):
                if word in forms:
                    word_terms = forms[word]
                else:
                    if len(forms) >= _WORD_CACHE:
                        forms.clear()
                    word_terms = forms[word] = terms_of(word)
                if word_terms is None:
                    removed += 1
                    continue
                at = pos + offset - removed
                for term in word_terms:
                    if term in found:
                        found[term].append(at)
                        weights[term] += boost
                    else:
                        found[term] = [at]
                        weights[term] = 0.0 + boost
            pos += len(words) + SECTION_GAP  # SectionTokenizer's gap (only after a section mark)
        length = 0
        for term, at_list in found.items():
            count = len(at_list)
            length += count
            if not positions:
                encoded = _UINTS[count] if count < 256 else pack_uint(count)
            elif count == 1:  # Positions.encode([at]), the pickled part made once per position
                tail = at_one.get(at_list[0])
                if tail is None:
                    tail = at_one[at_list[0]] = encode(at_list)[len(_UINTS[1]):]
                encoded = _UINTS[1] + tail  # a new object, as Whoosh's: pickle would share one
            else:
                encoded = encode(at_list)
            postings = terms.get(term)  # _posting, inline: once per posting
            if postings is None:
                postings = terms[term] = (array("I"), array("d"), [])
            postings[0].append(docnum)
            postings[1].append(weights[term] * field_boost)
            postings[2].append(encoded)
            if flat is not None:
                kept = flat.get(term)
                if kept is None:
                    kept = flat[term] = (array("I"), array("I"))
                kept[0].append(count)
                kept[1].extend(at_list)
        return length

    return analyse


def _plain_analyser(fmt: Any, findall: Callable[[str], list[str]], smallest: int,
                    largest: int) -> Analyser:
    """LowercaseFilter | CharsetFilter(accent_map), then, with `largest`, NgramFilter at the
    start (every prefix of `smallest` to `largest` letters), stored with frequencies."""
    forms: dict[str, tuple[bytes, ...]] = {}
    field_boost = fmt.field_boost

    def terms_of(word: str) -> tuple[bytes, ...]:
        text = word.lower().translate(accent_map)
        if not largest:
            return (text.encode("utf-8"),)
        return tuple(text[:size].encode("utf-8") for size in range(smallest, min(largest, len(text)) + 1))

    def analyse(value: str, docnum: int, terms: dict[bytes, _Postings]) -> int:
        counts: dict[bytes, int] = {}
        for word, said in Counter(findall(value)).items():  # each word as written, once
            word_terms = forms.get(word)
            if word_terms is None:
                if len(forms) >= _WORD_CACHE:
                    forms.clear()
                word_terms = forms[word] = terms_of(word)
            for term in word_terms:
                counts[term] = counts.get(term, 0) + said
        length = 0
        for term, count in counts.items():
            length += count
            postings = terms.get(term)  # _posting, inline: once per posting
            if postings is None:
                postings = terms[term] = (array("I"), array("d"), [])
            postings[0].append(docnum)
            postings[1].append(float(count) * field_boost)
            postings[2].append(_UINTS[count] if count < 256 else pack_uint(count))
        return length

    return analyse
