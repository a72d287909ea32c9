"""Synonyms at query time: a word or phrase of the query that is a member of a group also finds
the other members; a one-way key also finds its targets. Nothing is re-indexed.

Members and query are compared after the language's title analyzer (folded, stemmed, stop words
kept: "does not cover" is not "cover"), so "refunds" matches the member "refund". An expansion
is searched in the text the index has (stop words dropped, like any query), a multi-word one as
a phrase, weighted SYNONYM_WEIGHT: the words the visitor typed rank first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from whoosh.query import And, Phrase, Query, Term
from whoosh.query import DefaultOr as Or

from kb.content.model import Synonyms
from kb.search.analysis import text_analyzer, title_analyzer

SYNONYM_WEIGHT = 0.3  # an expansion's weight next to the typed word's 1.0
MAX_EXPANSIONS = 24  # per query: a group of hundreds of members must not make a huge query

Key = tuple[str, ...]


@dataclass(frozen=True)
class Expansion:
    """The synonyms of one language, analysed once: member keys -> the phrases they also find."""

    lang: str
    targets: dict[Key, tuple[str, ...]]  # analysed member or one-way key -> other phrases
    longest: int  # words in the longest key

    def spans(self, words: Sequence[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """(start, end, phrases) for each run of typed words that is a key, longest first,
        left to right, without overlaps."""
        keys = [_key(self.lang, word) for word in words]
        found: list[tuple[int, int, tuple[str, ...]]] = []
        start = 0
        while start < len(words):
            for end in range(min(len(words), start + self.longest), start, -1):
                key = tuple(part for k in keys[start:end] for part in k)
                if key and key in self.targets:
                    found.append((start, end, self.targets[key]))
                    start = end
                    break
            else:
                start += 1
        return found

    def covered(self, words: Sequence[str]) -> frozenset[int]:
        """The indexes of the typed words that are part of a synonym."""
        return frozenset(i for start, end, _ in self.spans(words) for i in range(start, end))

    def apply(self, words: Sequence[str], clauses: list[Query | None]) -> tuple[list[Query | None], set[str]]:
        """The per-word clauses with each matched run replaced by one clause: the typed words,
        or any of the phrases they also find (weighted down). Returns the terms added."""
        clauses = list(clauses)
        added: set[str] = set()
        budget = MAX_EXPANSIONS
        for start, end, phrases in self.spans(words):
            typed = [c for c in clauses[start:end] if c is not None]
            options: list[Query] = []
            for phrase in phrases[:budget]:
                query, terms = _phrase_query(self.lang, phrase)
                if query is not None:
                    options.append(query)
                    added.update(terms)
            budget -= len(options)
            if not options:
                continue
            base = typed[0] if len(typed) == 1 else And(typed) if typed else None
            clauses[start:end] = [Or(([base] if base is not None else []) + options)] + [None] * (end - start - 1)
        return clauses, added


@lru_cache(maxsize=16)
def _analyzers(lang: str) -> tuple[Any, Any]:
    return title_analyzer(lang), text_analyzer(lang)


@lru_cache(maxsize=8192)
def _key(lang: str, text: str) -> Key:
    """The first form of each word (a word may have two: with and without its accents)."""
    positions: dict[int, str] = {}
    for token in _analyzers(lang)[0](text, positions=True):
        positions.setdefault(token.pos, token.text)
    return tuple(form for _, form in sorted(positions.items()))


@lru_cache(maxsize=4096)
def _phrase_query(lang: str, phrase: str) -> tuple[Query | None, frozenset[str]]:
    """A phrase as the index has it: one word (every form), or the words in this order."""
    positions: dict[int, list[str]] = {}
    for token in _analyzers(lang)[1](phrase, positions=True):
        at = positions.setdefault(token.pos, [])
        if token.text not in at:
            at.append(token.text)
    if not positions:
        return None, frozenset()
    words = [forms for _, forms in sorted(positions.items())]
    terms = frozenset(t for forms in words for t in forms)
    if len(words) > 1:
        return Phrase("text", [forms[0] for forms in words], boost=SYNONYM_WEIGHT), terms
    if len(words[0]) == 1:
        return Term("text", words[0][0], boost=SYNONYM_WEIGHT), terms
    return Or([Term("text", form, boost=SYNONYM_WEIGHT) for form in words[0]]), terms


@lru_cache(maxsize=64)
def expansion(lang: str, synonyms: Synonyms) -> Expansion | None:
    """The analysed synonyms of `lang` (cached: the same Synonyms value is analysed once)."""
    if not synonyms:
        return None
    targets: dict[Key, list[str]] = {}
    for group in synonyms.equivalent:
        for member in group:
            key = _key(lang, member)
            if key:
                found = targets.setdefault(key, [])
                found.extend(other for other in group if other != member and other not in found)
    for source, phrases in synonyms.one_way:
        key = _key(lang, source)
        if key:
            found = targets.setdefault(key, [])
            found.extend(p for p in phrases if p not in found)
    frozen = {key: tuple(p for p in phrases if _key(lang, p) != key) for key, phrases in targets.items()}
    frozen = {key: phrases for key, phrases in frozen.items() if phrases}
    if not frozen:
        return None
    return Expansion(lang, frozen, max(len(key) for key in frozen))
