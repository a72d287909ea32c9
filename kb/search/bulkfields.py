"""The full build's analysis: each field's postings, gathered document after document.

kb.search.bulk.BulkWriter gives each value of an indexed field to the field's gatherer and, at
commit, writes the postings `grouped()` gives back, term after term in byte order: what
Whoosh's chain of token generators and its pool of postings would have produced.

Most postings are in the two fields that hold a whole article: the ranked text (stemmed, with
positions, each section weighted) and the unstemmed words. Their gatherer, `WordArrays`, looks
each word up once (a word form's terms are worked out once per build, as kb.search.analysis'
filters would: lowercased, folded, stop word or not, stemmed) and leaves the rest to numpy: the
positions (renumbered over removed stop words, a gap between sections), each term's count and
weight (the sum of its occurrences' section boosts) in the document, then at commit the
postings of every document grouped by term. Per word, that is a dictionary look-up in C instead
of a dozen Python steps (the words of the title, few, are gathered the same way). The ids and
the prefixes of the title and tags, and any field kb.search.analysis does not define, go
through `TermDict`, a term's postings appended as they come.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pickle import dumps
from typing import Any

import numpy as np
from whoosh.analysis import CharsetFilter, IDTokenizer, LowercaseFilter, NgramFilter, RegexTokenizer
from whoosh.fields import FieldType
from whoosh.formats import Existence, Frequency, Positions
from whoosh.support.charset import accent_map
from whoosh.system import emptybytes, pack_uint

from kb.search.analysis import (
    FIELD_BOOSTS,
    SECTION_GAP,
    SECTION_MARK,
    LanguageFilter,
    SectionTokenizer,
    fold,
    stem_pair,
    stopwords,
)

# A term's postings: document numbers, weights (doubles: Whoosh compares the weights as given,
# then stores them as floats) and encoded values.
Postings = tuple["array[int]", "array[float]", list[bytes]]
# A positions field's term as the flat positions file takes it: the count of positions in each
# posting, and the positions, posting after posting (None for a field without positions).
Flat = tuple[Any, Any] | None
Grouped = Iterator[tuple[bytes, Postings, Flat]]
_UINTS = [pack_uint(count) for count in range(256)]  # Frequency's values of the usual counts


def _uint(count: int) -> bytes:
    return _UINTS[count] if count < 256 else bytes(pack_uint(count))


Analyser = Callable[[Any, int, dict[bytes, Postings]], int]  # (value, docnum, terms) -> length


class TermDict:
    """A field whose postings are appended per term as each document's terms come: by `fast`
    for text, when there is one, else by Whoosh's own analysis."""

    def __init__(self, field: Any, fast: Analyser | None = None) -> None:
        self.fast = fast
        self.whooshs = whoosh_analyser(field)
        self.terms: dict[bytes, Postings] = {}

    def add(self, value: Any, docnum: int) -> int:
        analyse = self.fast if self.fast is not None and isinstance(value, str) else self.whooshs
        return analyse(value, docnum, self.terms)

    def grouped(self) -> Grouped:
        for term in sorted(self.terms):
            yield term, self.terms[term], None


class WordArrays:
    """A text field whose words have at most two terms each (LanguageFilter's stems, or the
    folded word), gathered as arrays. It takes text only (a list of words is refused with
    TypeError, where Whoosh's writer would index it: kb's documents never give one)."""

    def __init__(self, findall: Callable[[str], list[str]], terms_of: Callable[[str], tuple[bytes, ...]], *,
                 sections: bool, positions: bool, field_boost: float) -> None:
        self.findall = findall
        self.terms_of = terms_of  # a word as written -> its terms; () for a stop word dropped
        self.sections = sections
        self.positions = positions
        self.field_boost = field_boost
        self.forms: dict[str, int] = {}  # word as written -> its row in first/second
        self.first = np.empty(1024, dtype=np.int32)  # a form's term (-1: a stop word, dropped)
        self.second = np.empty(1024, dtype=np.int32)  # its other stem (-1: none)
        self.term_ids: dict[bytes, int] = {}
        self.term_list: list[bytes] = []
        # Per document: its number and posting count; its terms, counts, weights and positions.
        self.docs: list[int] = []
        self.sizes: list[int] = []
        self.chunks: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])

    def add(self, value: str, docnum: int) -> int:
        if not isinstance(value, str):
            raise TypeError("BulkWriter indexes only text in the fields of kb's schema")
        if self.sections and SECTION_MARK in value:
            found = [self.findall(section) for section in value.split(SECTION_MARK)]
            words = [word for section in found for word in section]
            sizes: list[int] | None = [len(section) for section in found]
        else:
            words, sizes = self.findall(value), None
        if not words:
            return 0
        rows = list(map(self.forms.get, words))
        if None in rows:  # word forms met for the first time in this build
            rows = [row if row is not None else self._learn(word) for row, word in zip(rows, words, strict=True)]
        at_row = np.array(rows, dtype=np.intp)
        first = self.first[at_row]
        kept = first >= 0
        at = np.cumsum(kept, dtype=np.int32) - 1  # a kept word's position: stop words take none
        boosts = None
        if sizes is not None:
            section = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
            at += section * SECTION_GAP
            boosts = _section_boosts(len(sizes))[section]
        second = self.second[at_row]
        both = kept & (second >= 0)
        if both.any():
            terms = np.concatenate((first[kept], second[both]))
            at = np.concatenate((at[kept], at[both]))
            if boosts is not None:
                boosts = np.concatenate((boosts[kept], boosts[both]))
        else:
            terms, at = first[kept], at[kept]
            if boosts is not None:
                boosts = boosts[kept]
        if not len(terms):
            return 0
        order = np.lexsort((at, terms))  # by term, then position
        terms = terms[order]
        starts = np.flatnonzero(np.concatenate(([True], terms[1:] != terms[:-1])))
        counts = np.diff(np.append(starts, len(terms)))
        weights = np.add.reduceat(boosts[order], starts) if boosts is not None else counts.astype(np.float64)
        self.docs.append(docnum)
        self.sizes.append(len(starts))
        for chunks, chunk in zip(self.chunks, (terms[starts], counts, weights, at[order] if self.positions else None),
                                 strict=True):
            chunks.append(chunk)
        return len(terms)

    def _learn(self, word: str) -> int:
        known = self.forms.get(word)  # said twice in the document that brought it
        if known is not None:
            return known
        row = len(self.forms)
        if row == len(self.first):
            self.first = np.concatenate((self.first, np.empty(row, dtype=np.int32)))
            self.second = np.concatenate((self.second, np.empty(row, dtype=np.int32)))
        found = [self._term_id(term) for term in self.terms_of(word)]
        self.first[row] = found[0] if found else -1
        self.second[row] = found[1] if len(found) > 1 else -1
        self.forms[word] = row
        return row

    def _term_id(self, term: bytes) -> int:
        found = self.term_ids.get(term)
        if found is None:
            found = self.term_ids[term] = len(self.term_list)
            self.term_list.append(term)
        return found

    def grouped(self) -> Grouped:
        if not self.docs:
            return
        terms_chunks, counts_chunks, weights_chunks, at_chunks = self.chunks
        self.chunks = ([], [], [], [])  # each document's arrays go once they are joined
        terms = np.concatenate(terms_chunks)
        order = np.argsort(terms, kind="stable")  # by term, each term's in document order
        firsts = np.zeros(len(self.term_list) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(self.term_list)), out=firsts[1:])
        docs = array("I", np.repeat(np.array(self.docs, dtype=np.uint32), self.sizes)[order].tobytes())
        weights = array("d", (np.concatenate(weights_chunks)[order] * self.field_boost).tobytes())
        counts_in_order = np.concatenate(counts_chunks)
        del terms_chunks, counts_chunks, weights_chunks
        counts = counts_in_order[order]
        count_list = counts.tolist()
        if self.positions:
            at, at_firsts, deltas = _positions(np.concatenate(at_chunks), counts_in_order, order)
            del at_chunks
            flat_counts = counts.astype(np.uint32)
            values = PositionValues(deltas)
        else:
            all_values = list(map(_uint, count_list))
        firsts_list = firsts.tolist()
        for term_id in sorted(range(len(self.term_list)), key=self.term_list.__getitem__):
            begin, end = firsts_list[term_id], firsts_list[term_id + 1]
            if begin == end:  # a document that failed after its words were looked up
                continue
            if self.positions:  # made term by term: all of them at once would be ~60 bytes a posting
                term_values = values.of(count_list[begin:end], at_firsts[begin])
                flat = (flat_counts[begin:end], at[at_firsts[begin]:at_firsts[end]])
            else:
                term_values, flat = all_values[begin:end], None
            yield self.term_list[term_id], (docs[begin:end], weights[begin:end], term_values), flat


@cache
def _section_boosts(sections: int) -> Any:
    """The boost of each of `sections` sections (made once per count, not per document)."""
    boosts = list(FIELD_BOOSTS.values())
    return np.array(boosts + [1.0] * max(0, sections - len(boosts)), dtype=np.float64)


def _positions(at: Any, counts: Any, order: Any) -> tuple[Any, list[int], list[int]]:
    """The positions of the postings `order` lists (each posting's are a run of `at`, in the
    postings' first order), their runs' starts, and the deltas Positions.encode pickles (a
    posting's first position is its own)."""
    ends = np.cumsum(counts)
    grouped_counts = counts[order]
    grouped_ends = np.cumsum(grouped_counts)
    # every position of the postings in their new order: a run per posting, from its old start
    source = np.repeat(ends[order] - grouped_ends, grouped_counts)
    source += np.arange(len(source))
    grouped = at[source]
    del source
    deltas = grouped.copy()
    deltas[1:] -= grouped[:-1]
    starts = np.concatenate(([0], grouped_ends[:-1]))
    deltas[starts] = grouped[starts]
    return grouped, [0, *grouped_ends.tolist()], deltas.tolist()


class PositionValues:
    """Positions' values (Positions.encode: the count, then the pickled deltas) of runs of
    `deltas`. Each value is a bytes object of its own, as Whoosh's: a block's values are
    pickled together, and pickle would write a shared one once."""

    def __init__(self, deltas: list[int]) -> None:
        self.deltas = deltas
        self.once: dict[int, bytes] = {}  # a position -> the pickle of a posting that has only it

    def of(self, counts: list[int], begin: int) -> list[bytes]:
        """The values of postings of `counts` positions each, whose deltas start at `begin`."""
        deltas, once = self.deltas, self.once
        values: list[bytes] = []
        for count in counts:
            if count == 1:
                tail = once.get(deltas[begin])
                if tail is None:
                    tail = once[deltas[begin]] = dumps(deltas[begin:begin + 1], 2)
                values.append(_UINTS[1] + tail)
            else:
                values.append(_uint(count) + dumps(deltas[begin:begin + count], 2))
            begin += count
        return values


# --- which gatherer, and the analysers of TermDict --------------------------------------------
Gatherer = TermDict | WordArrays


def gatherer(field: Any) -> Gatherer:
    """The fastest way to gather `field`'s postings that gives what field.index gives."""
    fast = fast_gatherer(field)
    return fast if fast is not None else TermDict(field)


def fast_gatherer(field: Any) -> Gatherer | None:
    """What field.index gives, made faster, for the analyzers of kb.search.analysis; None for
    any other field. Only for text: a list of words is whoosh_analyser's."""
    if type(field).index is not FieldType.index:  # NUMERIC, DATETIME...: their own terms
        return None
    analyzer = getattr(field, "analyzer", None)
    fmt: Any = getattr(field, "format", None)
    if type(analyzer) is IDTokenizer and type(fmt) is Existence:
        return TermDict(field, _id_analyser(fmt.field_boost))
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
        return WordArrays(findall, _stems(language.lang, language.keep_stops),
                          sections=type(tokenizer) is SectionTokenizer, positions=positions,
                          field_boost=fmt.field_boost)
    if positions or kinds[:2] != [LowercaseFilter, CharsetFilter] or filters[1].charmap is not accent_map:
        return None
    if len(kinds) == 2:
        return WordArrays(findall, _folded, sections=False, positions=False, field_boost=fmt.field_boost)
    if kinds[2:] == [NgramFilter] and filters[2].at == -1:
        return TermDict(field, _prefix_analyser(fmt, findall, filters[2].min, filters[2].max))
    return None


def _stems(lang: str, keep_stops: bool) -> Callable[[str], tuple[bytes, ...]]:
    """LowercaseFilter | LanguageFilter: a word's stems, () for a stop word it drops."""
    stops = stopwords(lang)
    pair = stem_pair(lang)

    def terms_of(word: str) -> tuple[bytes, ...]:
        if not keep_stops and fold(word) in stops:
            return ()
        first, second = pair(word.lower())
        return (first.encode("utf-8"),) if second is None else (first.encode("utf-8"), second.encode("utf-8"))

    return terms_of


def _folded(word: str) -> tuple[bytes, ...]:
    """LowercaseFilter | CharsetFilter(accent_map)."""
    return (fold(word).encode("utf-8"),)


def _posting(terms: dict[bytes, Postings], term: bytes, docnum: int, weight: float, value: bytes) -> None:
    postings = terms.get(term)
    if postings is None:
        postings = terms[term] = (array("I"), array("d"), [])
    postings[0].append(docnum)
    postings[1].append(weight)
    postings[2].append(value)


def whoosh_analyser(field: Any) -> Analyser:
    """field.index, Whoosh's own analysis: what its writer would index (any field, any value)."""

    def analyse(value: Any, docnum: int, terms: dict[bytes, Postings]) -> int:
        length = 0
        for term, frequency, weight, encoded in field.index(value):
            _posting(terms, term, docnum, weight, encoded)
            length += frequency
        return length

    return analyse


def _id_analyser(field_boost: float) -> Analyser:
    """IDTokenizer, stored as Existence: the value is the term."""

    def analyse(value: str, docnum: int, terms: dict[bytes, Postings]) -> int:
        _posting(terms, value.encode("utf-8"), docnum, field_boost, emptybytes)
        return 1

    return analyse


def _prefix_analyser(fmt: Any, findall: Callable[[str], list[str]], smallest: int,
                     largest: int) -> Analyser:
    """LowercaseFilter | CharsetFilter(accent_map) | NgramFilter at the start: every prefix of
    `smallest` to `largest` letters, stored with frequencies."""
    forms: dict[str, tuple[bytes, ...]] = {}
    field_boost = fmt.field_boost

    def terms_of(word: str) -> tuple[bytes, ...]:
        text = fold(word)
        return tuple(text[:size].encode("utf-8") for size in range(smallest, min(largest, len(text)) + 1))

    def analyse(value: str, docnum: int, terms: dict[bytes, Postings]) -> int:
        counts: dict[bytes, int] = {}
        for word, said in Counter(findall(value)).items():  # each word as written, once
            word_terms = forms.get(word)
            if word_terms is None:
                word_terms = forms[word] = terms_of(word)
            for term in word_terms:
                counts[term] = counts.get(term, 0) + said
        length = 0
        for term, count in counts.items():
            length += count
            _posting(terms, term, docnum, float(count) * field_boost, _uint(count))
        return length

    return analyse
