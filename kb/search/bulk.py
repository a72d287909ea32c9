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
compares both, term by term. Only what kb's schema uses is supported: no term vectors, no
separate spelling fields, no per-document boosts (a `_` field), no existing segments.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from typing import Any

from whoosh.analysis import CharsetFilter, LowercaseFilter, NgramFilter, RegexTokenizer
from whoosh.codec.whoosh3 import W3PostingsWriter
from whoosh.formats import Frequency, Positions
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

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
# What field.index gives: (term, frequency, weight, encoded value) per distinct term.
_Items = Iterable[tuple[bytes, int, float, bytes]]
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
        self._analysers = {name: found for name, field in self.schema.items()
                           if (found := fast_analyser(field)) is not None}
        self._terms: dict[str, dict[bytes, _Postings]] = {}
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
                    analyse = self._analysers.get(name)
                    items = analyse(value) if analyse and isinstance(value, str) else field.index(value)
                    length = self._add_postings(name, docnum, items, field.scorable)
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

    def _add_postings(self, name: str, docnum: int, items: Any, scorable: bool) -> int:
        """Keep one field's postings of a document; returns the field's length (its frequencies,
        0 when the field is not scored)."""
        terms = self._terms.get(name)
        if terms is None:
            terms = self._terms[name] = {}
        length = 0
        for tbytes, freq, weight, vbytes in items:
            length += freq
            postings = terms.get(tbytes)
            if postings is None:
                postings = terms[tbytes] = (array("I"), array("d"), [])
            postings[0].append(docnum)
            postings[1].append(weight)
            postings[2].append(vbytes)
        if not scorable:
            return 0
        if length:
            stored = length_to_byte(length)
            read_back = byte_to_length(stored) if stored else 0
            if read_back:  # add_posting ignores a length of 0 or None
                self._lengths.setdefault(name, {})[docnum] = read_back
        return length

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        writer = self.fieldwriter
        for name in sorted(self._terms):
            terms = self._terms[name]
            lengths = self._lengths.get(name, {})
            writer.start_field(name, self.schema[name])
            for tbytes in sorted(terms):
                writer.start_term(tbytes)
                _write_term(writer._postwriter, terms[tbytes], lengths)
                writer.finish_term()
            writer.finish_field()
        writer.close()
        self._terms.clear()


def _write_term(writer: W3PostingsWriter, postings: _Postings, lengths: dict[int, int]) -> None:
    """A term's postings as W3PostingsWriter.add_posting would buffer them, a block at a time;
    the last block is left to finish_postings (written, or inlined in the term's info)."""
    docs, weights, values = postings
    limit = writer._blocklimit
    count = len(docs)
    for start in range(0, count, limit):
        end = min(start + limit, count)
        block_weights = weights[start:end]
        writer._ids = docs[start:end]
        writer._weights = array("f", block_weights)
        writer._values = [value for value in values[start:end] if value]  # add_posting keeps no empty value
        writer._maxweight = max(0, max(block_weights))  # add_posting's: 0 while no weight is above it
        found = [lengths[doc] for doc in writer._ids if doc in lengths]
        writer._minlength = min(found) if found else None
        writer._maxlength = max(found) if found else 0
        if end < count:
            writer._write_block()


# --- analysis ---------------------------------------------------------------------------------


def fast_analyser(field: Any) -> Callable[[str], _Items] | None:
    """What `field.index(text)` gives, made faster, for the analyzers of kb.search.analysis;
    None for any other field (Whoosh analyses it)."""
    steps = getattr(getattr(field, "analyzer", None), "items", None)
    fmt = getattr(field, "format", None)
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
                                  language.lang, language.keep_stops)
    if positions or kinds[:2] != [LowercaseFilter, CharsetFilter] or filters[1].charmap is not accent_map:
        return None
    if len(kinds) == 2:
        return _plain_analyser(fmt, findall, 1, 0)
    if kinds[2:] == [NgramFilter] and filters[2].at == -1:
        return _plain_analyser(fmt, findall, filters[2].min, filters[2].max)
    return None


def _language_analyser(fmt: Any, findall: Callable[[str], list[str]], sections: bool,
                       positions: bool, lang: str, keep_stops: bool) -> Callable[[str], _Items]:
    """LowercaseFilter | LanguageFilter after a RegexTokenizer or SectionTokenizer, stored with
    positions (Positions) or frequencies (Frequency)."""
    stops = stopwords(lang)
    pair = stem_pair(lang)
    forms: dict[str, tuple[str, ...] | None] = {}  # word as written -> its terms (None: dropped)
    boosts = list(FIELD_BOOSTS.values())
    field_boost = fmt.field_boost

    def terms_of(word: str) -> tuple[str, ...] | None:
        text = word.lower()
        if not keep_stops and text.translate(accent_map) in stops:
            return None
        first, second = pair(text)
        return (first,) if second is None else (first, second)

    def analyse(value: str) -> _Items:
        split = sections and SECTION_MARK in value
        found: dict[str, list[int]] = {}
        weights: dict[str, float] = {}
        pos = removed = 0  # renumbered over removed stop words, as LanguageFilter does
        for index, section in enumerate(value.split(SECTION_MARK) if split else (value,)):
            boost = boosts[index] if split and index < len(boosts) else 1.0
            words = findall(section)
            for offset, word in enumerate(words):
                if word in forms:
                    terms = forms[word]
                else:
                    if len(forms) >= _WORD_CACHE:
                        forms.clear()
                    terms = forms[word] = terms_of(word)
                if terms is None:
                    removed += 1
                    continue
                at = pos + offset - removed
                for term in terms:
                    if term in found:
                        found[term].append(at)
                        weights[term] += boost
                    else:
                        found[term] = [at]
                        weights[term] = 0.0 + boost
            pos += len(words) + SECTION_GAP  # SectionTokenizer's gap (only after a section mark)
        if positions:
            encode = fmt.encode
            return [(term.encode("utf-8"), len(at_list), weights[term] * field_boost, encode(at_list))
                    for term, at_list in found.items()]
        return [(term.encode("utf-8"), len(at_list), weights[term] * field_boost, pack_uint(len(at_list)))
                for term, at_list in found.items()]

    return analyse


def _plain_analyser(fmt: Any, findall: Callable[[str], list[str]], smallest: int,
                    largest: int) -> Callable[[str], _Items]:
    """LowercaseFilter | CharsetFilter(accent_map), then, with `largest`, NgramFilter at the
    start (every prefix of `smallest` to `largest` letters), stored with frequencies."""
    forms: dict[str, tuple[str, ...]] = {}
    field_boost = fmt.field_boost

    def terms_of(word: str) -> tuple[str, ...]:
        text = word.lower().translate(accent_map)
        if not largest:
            return (text,)
        return tuple(text[:size] for size in range(smallest, min(largest, len(text)) + 1))

    def analyse(value: str) -> _Items:
        counts: dict[str, int] = {}
        for word in findall(value):
            terms = forms.get(word)
            if terms is None:
                if len(forms) >= _WORD_CACHE:
                    forms.clear()
                terms = forms[word] = terms_of(word)
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
        return [(term.encode("utf-8"), count, float(count) * field_boost, pack_uint(count))
                for term, count in counts.items()]

    return analyse
