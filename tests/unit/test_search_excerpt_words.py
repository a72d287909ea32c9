"""Excerpts are highlighted with the words the text analyzer makes, read in one pass
(kb.search.analysis.ExcerptAnalyzer): the same words, at the same places, marked the same."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from whoosh.highlight import ContextFragmenter, highlight

from kb.search.analysis import ExcerptAnalyzer, text_analyzer
from kb.search.results import _MarkFormatter, excerpt

from .test_search_bulk import LANGS, WORDS

# Letters with and without accents, stop words of several languages, words whose stem differs
# with and without accents ("cancelación"), punctuation between them.
TEXTS = st.lists(st.sampled_from(list("aeiouAEIOUçéüßİ .-_'2\u0301\n") + [w for w in WORDS if w != "\x1e"]),
                 max_size=40).map("".join)


def _tokens(tokens: Iterable[Any]) -> list[tuple[str, bool, int, int]]:
    return [(t.text, bool(t.stopped), t.startchar, t.endchar) for t in tokens]


@given(TEXTS)
def test_an_excerpt_is_read_into_the_words_the_text_analyzer_makes(text: str) -> None:
    for lang in LANGS:
        whooshs = _tokens(text_analyzer(lang)(text, chars=True, mode="query", removestops=False))
        assert _tokens(ExcerptAnalyzer(lang)(text, chars=True, mode="query", removestops=False)) == whooshs, lang


@given(TEXTS, st.data())
def test_an_excerpt_marks_what_highlighting_with_the_text_analyzer_marks(text: str, data: st.DataObject) -> None:
    for lang in ("en", "es", "fr", "de"):
        analyzer = text_analyzer(lang)
        words = sorted({t.text for t in analyzer(text, mode="query")})
        terms = frozenset(data.draw(st.lists(st.sampled_from(words), max_size=3)) if words else [])
        marked = [highlight(text, terms, chosen, ContextFragmenter(maxchars=200, surround=60), _MarkFormatter(), top=2)
                  for chosen in (analyzer, ExcerptAnalyzer(lang))]
        assert marked[0] == marked[1], lang
        stored = {"body": text, "summary": text[::-1]}
        assert excerpt(stored, terms, ExcerptAnalyzer(lang)) == excerpt(stored, terms, analyzer), lang


def test_stop_words_are_left_out_when_asked() -> None:
    assert [t.text for t in ExcerptAnalyzer("en")("The refunds of the plan")] == ["refund", "plan"]
