"""Queries: what the visitor typed, parsed, then compiled into a Whoosh query for one language.

Compiling is where the ranking rules live: every word must match (in any of its stemmed
forms), a word the index does not have is replaced by its nearest spellings ("did you mean"),
and constant bonuses put an exact title first and titles with every word next. Among the
rest, articles that have neighbouring query words side by side ("start stopped services" in a
summary) rank higher than articles that only mention them apart (`_proximity`): that bonus is
not part of the query but `Compiled.pairs`, added to the best BM25 hits only (kb.search.proximity).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from whoosh.codec.base import Automata
from whoosh.query import And, AndNot, ConstantScoreQuery, NullQuery, Phrase, Query, Term
from whoosh.query import DefaultOr as Or  # binary union trees; the "preloaded" Or is slow to set up

from kb.search.analysis import (
    NGRAM_MAX,
    ExcerptAnalyzer,
    plain_words,
    stopwords,
    text_analyzer,
    title_analyzer,
    title_key,
)
from kb.search.synonyms import Expansion

MAX_QUERY_CHARS = 500  # longer queries are cut (the search box allows as much)
MAX_TERMS = 16  # words, phrases and exclusions beyond this are ignored
RARE_FREQUENCY = 2  # a word in at most this many articles may still be a typo
# Ranking tiers, added to the BM25F score (at most MAX_TERMS words of ~25 each, so < 1,000):
# an article whose title is the query comes first, then those whose title has every word.
EXACT_TITLE_SCORE = 10_000.0
TITLE_WORDS_SCORE = 1_000.0
CORRECTION_WEIGHT = 0.2  # a rare word's likely correction, searched alongside it
# Two query words next to each other in an article (in this order, at most PROXIMITY_SLOP - 1
# words apart, stop words not counted) score their BM25F again, times PROXIMITY_WEIGHT: the
# ordered pairs of the sequential dependence model (Metzler and Croft 2005).
PROXIMITY_WEIGHT = 1.0
PROXIMITY_SLOP = 1

_WORD_RE = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)
# A "-" that starts a word and is followed by a letter excludes it; "--dns", "-1" are words.
_EXCLUDE_RE = re.compile(r"-[^\W\d_]")
_QUOTED_RE = re.compile(r'(^|\s)(-?)"([^"]*)(?:"|$)')


def normalise(text: str) -> str:
    """NFKC, control characters as spaces, whitespace collapsed, cut to MAX_QUERY_CHARS."""
    text = unicodedata.normalize("NFKC", text[: MAX_QUERY_CHARS * 4])
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(text.split())[:MAX_QUERY_CHARS].strip()


@dataclass(frozen=True)
class ParsedQuery:
    """What the visitor typed: words, "quoted phrases" and -excluded words or phrases.

    Only a "-" starting a word and followed by a letter excludes: "--dns", "-1" and "a-b" are
    words (options and numbers are what people look up). Every other character is taken
    literally (it only separates words), so no input can be a syntax error.
    """

    text: str  # normalised, as typed
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.text.lower()

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases)


def parse_query(raw: str) -> ParsedQuery:
    text = normalise(raw)
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []

    def quoted(match: re.Match[str]) -> str:
        inner = match.group(3).strip()
        if _WORD_RE.search(inner):
            (excluded if match.group(2) else phrases).append(inner)
        return " "

    rest = _QUOTED_RE.sub(quoted, text)
    for part in rest.replace('"', " ").split():
        if _EXCLUDE_RE.match(part):
            excluded.append(part[1:])
        elif _WORD_RE.search(part):
            words.append(part)
    if not (words or phrases or excluded) and text:
        words.append(text)  # symbols only ("!", "((", "%"): titles in reference material
    budget = MAX_TERMS
    words, budget = words[:budget], max(0, budget - len(words))
    phrases, budget = phrases[:budget], max(0, budget - len(phrases))
    return ParsedQuery(text, tuple(words), tuple(phrases), tuple(excluded[:budget]))


@dataclass(frozen=True)
class Compiled:
    query: Query
    terms: frozenset[str]  # body terms to highlight
    suggestion: str | None
    clauses: list[Query]  # one per word or phrase: any of them, when no article has all
    excluded: Query | None
    pairs: tuple[Phrase, ...] = ()  # neighbouring words: a bonus for the best hits (kb.search.proximity)


class QueryCompiler:
    """Compiles queries for one language's index; thread-safe (the analyzers keep no state)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.analyzer = text_analyzer(lang)
        self.excerpts = ExcerptAnalyzer(lang)  # its words, as highlighting re-analyses excerpts
        self._title_analyzer = title_analyzer(lang)
        self._stops = stopwords(lang)

    def forms(self, raw: str) -> list[tuple[str, ...]]:
        """The terms of one typed word, one tuple of forms per position."""
        positions: dict[int, list[str]] = {}
        for token in self.analyzer(raw, positions=True):
            forms = positions.setdefault(token.pos, [])
            if token.text not in forms:
                forms.append(token.text)
        return [tuple(forms) for _, forms in sorted(positions.items())]

    def _matching(self, raw: str) -> tuple[Query | None, list[str]]:
        """A phrase or a word (several forms at one position), and its terms."""
        forms = self.forms(raw)
        if not forms:
            return None, []
        terms = [t for f in forms for t in f]
        return (_phrase([f[0] for f in forms]) if len(forms) > 1 else _word(list(forms[0]))), terms

    def compile(self, parsed: ParsedQuery, reader: Any, synonyms: Expansion | None = None) -> Compiled | None:
        terms: set[str] = set()
        replacements: dict[str, str] = {}
        per_word: list[Query | None] = []
        covered = synonyms.covered(parsed.words) if synonyms is not None else frozenset()
        for index, raw in enumerate(parsed.words):  # no "did you mean" for a known synonym
            clause, word_terms = self._word_clause(raw, reader, {} if index in covered else replacements)
            per_word.append(clause)
            terms.update(word_terms)
        pairs = _proximity([_lead(clause) for clause in per_word if clause is not None])
        if synonyms is not None:  # a run of words that is a synonym: it or what it also finds
            per_word, synonym_terms = synonyms.apply(parsed.words, per_word)
            terms.update(synonym_terms)
        clauses: list[Query] = [clause for clause in per_word if clause is not None]
        for raw in parsed.phrases:
            clause, phrase_terms = self._matching(raw)
            if clause is not None:
                clauses.append(clause)
                terms.update(phrase_terms)
        only_stops = not clauses
        if only_stops:  # "where", "about if", "q": searched as typed, in the unstemmed words
            typed = plain_words(" ".join(parsed.words + parsed.phrases))
            clauses = [Term("words", word) for word in dict.fromkeys(typed)][:MAX_TERMS]
        tiers = self._title_tiers(parsed, only_stops=only_stops)
        # The whole text as typed, "-x" included: a title equal to it ("pacman -D") comes first.
        key = title_key(parsed.text)
        exact = ConstantScoreQuery(Term("title_exact", key), EXACT_TITLE_SCORE) if key else None
        if not clauses and not tiers and exact is None:
            return None
        excluded_parts = [q for q in (self._matching(raw)[0] for raw in parsed.excluded) if q is not None]
        excluded = Or(excluded_parts) if excluded_parts else None
        ranked = ([clauses[0] if len(clauses) == 1 else And(clauses)] if clauses else []) + tiers
        query: Query = (ranked[0] if len(ranked) == 1 else Or(ranked)) if ranked else NullQuery
        if excluded is not None and ranked:
            query = AndNot(query, excluded)
        if exact is not None:
            query = Or([query, exact]) if ranked else exact
        # For "any of them" (no article has all): a hyphenated word's parts count apart ("vip-kode").
        hyphenated = [clause for raw, clause in zip(parsed.words, per_word, strict=True) if "-" in raw]
        clauses = [part for clause in clauses for part in _parts_of(clause, hyphenated)]
        suggestion = _replace_words(parsed.text, replacements) if replacements else None
        return Compiled(query, frozenset(terms), suggestion, clauses, excluded, pairs if ranked else ())

    def _word_clause(self, raw: str, reader: Any, replacements: dict[str, str]) -> tuple[Query | None, list[str]]:
        """One typed word, with its corrections when it looks misspelled (noted in `replacements`)."""
        forms = self.forms(raw)
        if not forms:
            return None, []
        if len(forms) > 1:  # "e-mail", "support-code": the parts, in this order
            return self._parts_clause(raw, reader, replacements)
        word_terms = list(forms[0])
        plain = plain_words(raw)
        folded = plain[0] if len(plain) == 1 else ""
        corrected: list[str] = []
        found = typo_corrections(reader, folded, word_terms) if folded not in self._stops else []
        if found:
            replacements[raw] = found[0]
            for correction in found:
                corrected.extend(f for group in self.forms(correction) for f in group)
        if corrected and reader.doc_frequency("words", folded):
            # A word the index has is searched as typed, however rare ("conntrack" is not
            # "contract"): its corrections only add their articles, weighted far below.
            clause = Or([_word(word_terms), _word(corrected, boost=CORRECTION_WEIGHT)])
        else:  # unknown: replaced (kept, a typo found nowhere would only narrow the search)
            clause = _word(corrected) if corrected else _word(word_terms)
        return clause, word_terms + corrected

    def _parts_clause(self, raw: str, reader: Any, replacements: dict[str, str]) -> tuple[Query, list[str]]:
        """A hyphenated word as the phrase of its parts, each part corrected like a word: an
        unknown part replaced ("Suport-Code" is "support code"), a rare one searched as typed
        and corrected, the corrected phrase weighted far below."""
        typed: list[str] = []  # the folded parts, corrected
        leads: list[str] = []  # the phrase as typed
        fixed: list[str] = []  # the phrase corrected
        terms: list[str] = []
        unknown = False
        for part in plain_words(raw):
            forms = [f for group in self.forms(part) for f in group]
            found = typo_corrections(reader, part, forms) if forms else []
            typed.append(found[0] if found else part)
            if not forms:  # a stop word: not in the phrase, as at index time
                continue
            corrected = [f for group in self.forms(found[0]) for f in group] if found else []
            unknown = unknown or bool(corrected and not reader.doc_frequency("words", part))
            leads.append(forms[0])
            fixed.append((corrected or forms)[0])
            terms.extend(forms + corrected)
        if fixed == leads:
            return _phrase(leads), terms
        replacements[raw] = "-".join(typed)
        if unknown:
            return _phrase(fixed), terms
        return Or([_phrase(leads), Phrase("text", fixed, boost=CORRECTION_WEIGHT)]), terms

    def _title_tiers(self, parsed: ParsedQuery, only_stops: bool) -> list[Query]:
        """A constant bonus that puts the articles whose title has every word first (below an
        exact title); stop words count when the query has nothing else ("until", "about if",
        "q" are titles), and then it also finds those titles."""
        typed = " ".join(parsed.words + parsed.phrases)
        positions: dict[int, list[str]] = {}
        for token in self._title_analyzer(typed, positions=True):
            if only_stops or not token.stop_word:
                forms = positions.setdefault(token.pos, [])
                if token.text not in forms:
                    forms.append(token.text)
        words = [_word(forms, fieldname="title_words") for forms in positions.values()][:MAX_TERMS]
        if not words:
            return []
        return [ConstantScoreQuery(words[0] if len(words) == 1 else And(words), TITLE_WORDS_SCORE)]

    def prefix_clauses(self, reader: Any, text: str, last_is_prefix: bool) -> list[Query]:
        """Suggestions: earlier words whole, the last one as a prefix (unless `last_is_prefix`
        is False), each with its corrections when no title or tag starts with it."""
        words = plain_words(text)[:MAX_TERMS]
        clauses: list[Query] = []
        for index, word in enumerate(words):
            is_last = index == len(words) - 1
            if not (is_last and last_is_prefix) and (word in self._stops or len(word) < 2) and len(words) > 1:
                continue
            term = word[:NGRAM_MAX]
            options = [term]
            if reader.doc_frequency("prefixes", term) == 0:
                options += corrections(reader, term, 3, "prefixes")
            clauses.append(Or([Term("prefixes", o) for o in options]) if len(options) > 1 else Term("prefixes", term))
        return clauses


# --- spelling ---------------------------------------------------------------------------------


def corrections(reader: Any, word: str, limit: int = 3, fieldname: str = "words") -> list[str]:
    """The nearest spellings of `word` the index has, the most common first."""
    if len(word) < 3 or word.isdigit():
        return []
    maxdist = 1 if len(word) <= 5 else 2
    # Whoosh counts a swap of two letters as two edits; ask for two, then keep what is
    # within `maxdist` when a swap counts as one ("coed" -> "code").
    found = _terms_within(reader, fieldname, word, 2, prefix=1)
    found.discard(word)
    scored = sorted((d, -reader.doc_frequency(fieldname, w), w) for w in found
                    if (d := swap_distance(w, word)) <= maxdist)
    return [w for d, _, w in scored if d == scored[0][0]][:limit]  # only the nearest


def typo_corrections(reader: Any, folded: str, forms: list[str]) -> list[str]:
    """What the visitor probably meant by `folded`, when it looks misspelled: unknown in
    every form, or rare next to a much more common neighbour ("suport" vs "support").

    Only an unknown word is replaced by its corrections; a rare one is searched as typed
    ("conntrack" is not "contract") and its corrections are only offered as "did you mean".
    """
    if len(folded) < 3 or folded.isdigit():
        return []
    frequency = reader.doc_frequency("words", folded)
    if frequency == 0:
        if any(reader.doc_frequency("text", form) for form in forms):
            return []  # an inflection the stemmer recognises ("reembolsos")
        return corrections(reader, folded)
    if frequency > RARE_FREQUENCY:
        return []
    floor = max(3, 4 * frequency)
    return [c for c in corrections(reader, folded) if reader.doc_frequency("words", c) >= floor]


def swap_distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbouring letters is one edit (optimal string alignment)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _terms_within(reader: Any, fieldname: str, word: str, maxdist: int, prefix: int) -> set[str]:
    """Terms within `maxdist` edits, looked up segment by segment: only a segment's reader
    walks its word graph; a multi-segment reader would compare every term (2.6-6x slower).
    The automaton is built once for every segment (building it is most of the cost)."""
    found: set[str] = set()
    dfa = _levenshtein_dfa(word, maxdist, prefix)
    for leaf, _ in reader.leaf_readers():
        cursor = leaf.cursor(leaf.schema[fieldname].spelling_fieldname(fieldname))
        found.update(Automata.find_matches(dfa, cursor))
    return found


@lru_cache(maxsize=256)
def _levenshtein_dfa(word: str, maxdist: int, prefix: int) -> Any:
    """Read only once built: shared by threads, kept for the typos people repeat."""
    return Automata.levenshtein_dfa(word, maxdist, prefix)


def _word(forms: list[str], boost: float = 1.0, fieldname: str = "text") -> Query:
    if not forms:
        return NullQuery
    if len(forms) == 1:
        return Term(fieldname, forms[0], boost=boost)
    return Or([Term(fieldname, form, boost=boost) for form in forms])


def _phrase(words: list[str]) -> Query:
    return Phrase("text", words)


def _parts_of(clause: Query, hyphenated: list[Query | None]) -> list[Query]:
    """A hyphenated word's phrase as its words; anything else as it is ("title:premium" stays
    a phrase: no typed separator but "-" reads as one)."""
    if isinstance(clause, Phrase) and any(clause is word for word in hyphenated):
        return [Term(clause.fieldname, word) for word in clause.words]
    return [clause]


def _lead(clause: Query) -> str | None:
    """The term a word's clause searches first: its form as typed, or its correction when it
    replaced an unknown word (None for a hyphenated word's phrase)."""
    while not isinstance(clause, Term):
        children = getattr(clause, "subqueries", None)
        if not children or isinstance(clause, Phrase):
            return None
        clause = children[0]
    return str(clause.text) if clause.fieldname == "text" else None


def _proximity(leads: list[str | None]) -> tuple[Phrase, ...]:
    """Each pair of neighbouring query words as a phrase: a bonus for the articles that say them
    together (the query's words have matched already; this only reorders)."""
    return tuple(Phrase("text", [a, b], slop=PROXIMITY_SLOP, boost=PROXIMITY_WEIGHT)
                 for a, b in pairwise(leads) if a is not None and b is not None and a != b)


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    for raw, correction in replacements.items():
        text = re.sub(r"(?<!\S)" + re.escape(raw) + r"(?!\S)", correction, text, count=1)
    return text
