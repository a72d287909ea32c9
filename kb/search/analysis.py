"""Text analysis: how titles, sections and queries become terms, and the schema that stores them.

Every analyzer splits words the same way (TOKEN_PATTERN), lowercases and folds accents; the
ranked text is also stemmed per language, without stop words. Whoosh pickles the analyzers'
classes into each index by their import path: moving or renaming a class here means a new
SCHEMA_VERSION, so that old builds are rebuilt rather than unpickled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache, lru_cache
from typing import Any

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    NgramFilter,
    RegexTokenizer,
    Token,
)
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.lang import NoStemmer, NoStopWords, stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

# 10: and its flat postings (kb.search.flatpostings);
# 9: a full build's segment holds its flat positions too (kb.search.positions);
# 8: one-letter words and digits indexed, stop words added (EXTRA_STOPWORDS);
# 7: `questions:` in the text; 5: the analyzers moved to kb.search.analysis; 4: to kb.search.*;
# 3: "_" splits words.
SCHEMA_VERSION = 10
NGRAM_MAX = 24  # longest prefix a suggestion matches

# Ranking is BM25F: the sections of an article go into one field, each occurrence of a word
# weighing what its section weighs (title > headings and tags > summary > body), so the
# weighted frequencies add up before BM25 saturates them. One field also keeps queries cheap:
# one term per word form, not one per section. The questions customers ask (`questions:`)
# weigh what the title weighs.
FIELD_BOOSTS: dict[str, float] = {
    "title": 6.0, "headings": 3.0, "tags": 3.0, "categories": 1.5, "summary": 2.0, "body": 1.0,
    "questions": 6.0,
}
SECTION_MARK = "\x1e"  # separates the sections in the text field's value (never in a query)
SECTION_GAP = 100  # positions between sections, so a phrase cannot span two of them

# Words for every analyzer: letters and digits, with inner dots ("2.7", "acme.sh"); "_" and
# "-" separate words ("about_Aliases" is "about aliases", as typed).
TOKEN_PATTERN = r"[^\W_]+(?:\.?[^\W_]+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_TITLE_KEY_RE = re.compile(r"[^\W_]+[+#]*")  # "C++" stays "c++", "Set-PSBreakpoint" is "set psbreakpoint"


def fold(text: str) -> str:
    """Lowercase without accents: "Código" -> "codigo"."""
    return text.lower().translate(accent_map)


# Whoosh's lists are Snowball's, which lack some articles and prepositions (French "les") and
# the letters left by an elision ("I'm", "d'accordo", "geht's"): a one-letter word is otherwise
# a word ("package manager c", "z shell", "windows 7").
EXTRA_STOPWORDS: dict[str, tuple[str, ...]] = {
    "en": ("onto", "d", "m", "ll", "ve", "re"),
    "fr": ("les", "chez", "vers"),
    "de": ("neben", "seit", "wegen", "s"),
    "pt": ("uns", "umas", "dum", "duma", "sob", "sobre", "d"),
    "es": ("unas", "hacia", "según", "tras"),
    "it": ("fra", "coll", "d", "m", "n", "s", "t"),
}


@cache
def stopwords(lang: str) -> frozenset[str]:
    """The language's stop words, folded (none for a language Whoosh has no list for)."""
    try:
        words = set(stopwords_for_language(lang))
    except NoStopWords:
        words = set()
    return frozenset(fold(w) for w in words.union(EXTRA_STOPWORDS.get(lang[:2], ())))


@cache
def stem_pair(lang: str) -> Callable[[str], tuple[str, str | None]]:
    """word -> (stem of the folded word, stem of the word folded when it differs).

    Folding first makes "codigo" and "código" the same term; the second form keeps what the
    stemmer only recognises with accents ("cancelación" -> "cancel", like "cancelar").
    """
    try:
        stem: Callable[[str], str] | None = stemmer_for_language(lang)
    except NoStemmer:
        stem = None

    @lru_cache(maxsize=200_000)
    def pair(word: str) -> tuple[str, str | None]:
        folded = word.translate(accent_map)
        if stem is None:
            return folded, None
        first = stem(folded)
        second = stem(word).translate(accent_map) if folded != word else first
        return first, (second if second != first else None)

    return pair


class LanguageFilter(Filter):  # type: ignore[misc]
    """Stop words, accent folding and stemming for one language (tokens arrive lowercased).

    Positions are renumbered over removed stop words, so "cancel the offer" matches the
    phrase "cancel offer" the same way at index and at query time (gaps between sections stay).
    With keep_stops (titles), stop words are kept, marked `stop_word`: "until" or "about if"
    are whole titles. One-letter words and digits that are not stop words are words ("q",
    "C++", "package manager c", "windows 7").
    """

    is_morph = True

    def __init__(self, lang: str, keep_stops: bool = False) -> None:
        self.lang = lang
        self.keep_stops = keep_stops

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LanguageFilter) and other.lang == self.lang
                and other.keep_stops == self.keep_stops)

    def __hash__(self) -> int:
        return hash(("LanguageFilter", self.lang, self.keep_stops))

    def __call__(self, tokens: Iterable[Any]) -> Iterator[Any]:
        stops = stopwords(self.lang)
        pair = stem_pair(self.lang)
        removed = 0
        for token in tokens:
            text = token.text
            stopped = text.translate(accent_map) in stops
            if stopped and not self.keep_stops:
                if not token.removestops:
                    token.stopped = True
                    yield token
                else:
                    removed += 1
                continue
            if token.positions and removed:
                token.pos -= removed
            token.stopped = False  # Whoosh would not index it
            token.stop_word = stopped
            first, second = pair(text)
            token.text = first
            yield token
            if second is not None:
                token.text = second
                yield token


class SectionTokenizer(RegexTokenizer):  # type: ignore[misc]
    """Words of "title<SECTION_MARK>headings<SECTION_MARK>...", each weighted by its section
    (FIELD_BOOSTS, in order); text without the mark is one section of weight 1."""

    def __call__(self, value: str, positions: bool = False, chars: bool = False, start_pos: int = 0,
                 start_char: int = 0, **kwargs: Any) -> Iterator[Any]:
        if SECTION_MARK not in value:
            yield from super().__call__(value, positions=positions, chars=chars, start_pos=start_pos,
                                        start_char=start_char, **kwargs)
            return
        boosts = list(FIELD_BOOSTS.values())
        pos, char = start_pos, start_char
        for index, section in enumerate(value.split(SECTION_MARK)):
            boost = boosts[index] if index < len(boosts) else 1.0
            last = pos - 1
            for token in super().__call__(section, positions=positions, chars=chars, start_pos=pos,
                                          start_char=char, **kwargs):
                token.boost = boost
                if positions:
                    last = token.pos
                yield token
            pos = last + 1 + SECTION_GAP
            char += len(section) + len(SECTION_MARK)


def text_analyzer(lang: str) -> Any:
    """The ranked text: sections weighted, stop words dropped, stemmed."""
    return SectionTokenizer(TOKEN_PATTERN) | LowercaseFilter() | LanguageFilter(lang)


class ExcerptAnalyzer:
    """The text analyzer's words of a stored body, for highlighting (whoosh.highlight), in one
    pass: the same tokens as text_analyzer(lang) in mode "query" with stop words kept (marked
    stopped), each word's terms looked up once per process. Highlighting ten hits re-analyses
    a few hundred words each; the chain of generators cost ~15 µs a word, this ~2."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._terms = _word_terms(lang)

    def __call__(self, value: str, chars: bool = False, mode: str = "", removestops: bool = True,
                 **kwargs: Any) -> Iterator[Token]:
        token = Token(False, chars, removestops=removestops, mode=mode)
        token.boost = 1.0
        terms = self._terms
        for match in _TOKEN_RE.finditer(value):
            word = match.group(0).lower()
            if chars:
                token.startchar, token.endchar = match.start(), match.end()
            found = terms(word)
            if found is None:  # a stop word: kept for the fragments' lengths, never matched
                if removestops:
                    continue
                token.text, token.stopped = word, True
                yield token
                continue
            token.stopped = False
            for text in found:
                token.text = text
                yield token


@cache
def _word_terms(lang: str) -> Callable[[str], tuple[str, ...] | None]:
    stops = stopwords(lang)
    pair = stem_pair(lang)

    @lru_cache(maxsize=50_000)  # over stem_pair's cache: ~10 MB a language at most
    def terms(word: str) -> tuple[str, ...] | None:
        """A lowercased word's terms (its stems, as LanguageFilter yields them), None for a
        stop word."""
        if word.translate(accent_map) in stops:
            return None
        first, second = pair(word)
        return (first,) if second is None else (first, second)

    return terms


def title_analyzer(lang: str) -> Any:
    """Every word of a title, stop words included (stemmed like the text)."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | LanguageFilter(lang, keep_stops=True)


def plain_analyzer() -> Any:
    """Words as typed, folded: what typo corrections and "did you mean" compare."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)


def prefix_analyzer() -> Any:
    """Every prefix of every word, for suggestions while typing."""
    return plain_analyzer() | NgramFilter(minsize=1, maxsize=NGRAM_MAX, at="start")


def plain_words(text: str) -> list[str]:
    return [token.text for token in plain_analyzer()(text)]


def title_key(text: str) -> str:
    """A title as compared for an exact match: folded words, one space apart (symbols when
    there is no word: "((" is a title)."""
    folded = fold(text)
    return " ".join(_TITLE_KEY_RE.findall(folded)) or " ".join(folded.split())


def build_schema(lang: str) -> Schema:
    return Schema(
        key=ID(unique=True, stored=True, sortable=True),  # the slug
        id=STORED,
        title=STORED,
        summary=STORED,
        body=STORED,  # for excerpts
        text=TEXT(analyzer=text_analyzer(lang)),  # every section, weighted: what searches match and rank
        category=ID(stored=True, sortable=True),
        type=ID(stored=True, sortable=True),
        updated=DATETIME(stored=True, sortable=True),
        fingerprint=ID(stored=True, sortable=True),
        words=TEXT(analyzer=plain_analyzer(), phrase=False),  # unstemmed: typos, "did you mean"
        prefixes=TEXT(analyzer=prefix_analyzer(), phrase=False),  # title and tags: suggestions
        title_words=TEXT(analyzer=title_analyzer(lang), phrase=False),  # ranking: every word in the title
        title_exact=ID(),  # ranking: the title is the query (title_key)
    )
