"""The full build's writer (kb.search.bulk) makes the index Whoosh's own writer makes (and the
flat positions besides)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from kb.config import PROJECT_ROOT
from kb.content.site import Site
from kb.search import flatpostings, positions
from kb.search.analysis import SECTION_MARK, build_schema
from kb.search.bulk import BulkWriter
from kb.search.bulkfields import fast_gatherer
from kb.search.documents import document

LANGS = ("en", "pt", "fr", "de", "it", "es", "nl", "zz")  # nl: another stemmer; zz: none at all
# Letters with and without accents, capitals that lowercase to two characters, digits, inner
# dots, "_" and "-", a combining accent, stop words and the section mark.
WORDS = ["the", "a", "I", "d'accord", "les", "Código", "codigo", "cancelación", "cancelar", "İstanbul",
         "straße", "Übertragung", "2.7", "acme.sh", "about_Aliases", "e\u0301te\u0301", "C++", "x", "7",
         "running", "runs", "über", "größe", "façade", "più", "não", "¿Cómo?", SECTION_MARK, "", "...", "-"]


def _docs(texts: list[str]) -> list[dict[str, Any]]:
    """Documents of kb's schema whose every analysed field holds one of `texts`."""
    return [{"key": f"doc-{n}", "id": n, "title": text, "summary": text, "body": text,
             "text": SECTION_MARK.join([text, text[::-1], "", text]), "category": "billing",
             "type": "faq", "updated": datetime(2026, 1, 1 + n % 28), "fingerprint": f"f{n}",
             "words": text, "prefixes": text, "title_words": text, "title_exact": text.lower()}
            for n, text in enumerate(texts)]


def _write(folder: Path, lang: str, docs: list[dict[str, Any]], bulk: bool) -> Any:
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), build_schema(lang), indexname=lang)
    writer = BulkWriter(ix) if bulk else ix.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix


def _segment_files(ix: Any) -> tuple[dict[str, bytes], dict[str, int], int]:
    """Every file of the index's one segment by its kind (postings, terms, each column), the
    total length of each field and the document count."""
    (segment,) = ix._segments()
    files = segment.open_compound_file(ix.storage)
    contents = {name.split(".", 1)[1]: files.open_file(name).read() for name in files.list()}
    return contents, dict(segment._fieldlengths), segment.doc_count_all()


def assert_same_index(tmp_path: Path, lang: str, docs: list[dict[str, Any]]) -> None:
    ours = _segment_files(_write(tmp_path / f"bulk-{lang}", lang, docs, bulk=True))
    whooshs = _segment_files(_write(tmp_path / f"whoosh-{lang}", lang, docs, bulk=False))
    flat = ours[0].pop(positions.EXTENSION[1:])  # the flat positions besides (test_search_positions)
    assert flat.startswith(positions.MAGIC)
    flat = ours[0].pop(flatpostings.EXTENSION[1:])  # and the flat postings (test_search_postings)
    assert flat.startswith(flatpostings.MAGIC)
    assert sorted(ours[0]) == sorted(whooshs[0])
    for kind, data in whooshs[0].items():
        assert ours[0][kind] == data, f"{lang}: the {kind} file differs"
    assert ours[1:] == whooshs[1:]


def test_the_sample_content_is_indexed_byte_for_byte_as_whooshs_writer_indexes_it(tmp_path: Path) -> None:
    site = Site(PROJECT_ROOT / "articles")
    site.load()
    by_lang: dict[str, list[dict[str, Any]]] = {}
    for article in site.published():
        by_lang.setdefault(article.lang, []).append(document(site, article))
    assert len(by_lang) >= 3
    for lang, docs in by_lang.items():
        assert_same_index(tmp_path, lang, docs)


def test_words_of_every_kind_in_every_language_are_indexed_as_whooshs_writer_indexes_them(tmp_path: Path) -> None:
    # 200 documents: the common words' postings span several blocks of 128.
    texts = [" ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(n % 23)) for n in range(200)]
    for lang in LANGS:
        assert_same_index(tmp_path, lang, _docs(texts))


TEXTS = st.lists(st.sampled_from(list("aeiouAEIOUçéüßİ .-_'2\u0301\x1e") + WORDS), max_size=30).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=12), st.sampled_from(LANGS))
def test_any_documents_are_indexed_byte_for_byte_as_whooshs_writer_indexes_them(texts: list[str], lang: str) -> None:
    # Several documents: each term's postings are gathered from all of them, in document order,
    # with the positions of each posting regrouped by term.
    with tempfile.TemporaryDirectory() as folder:
        assert_same_index(Path(folder), lang, _docs(texts))


@given(TEXTS)
def test_any_text_gives_the_terms_weights_and_positions_whooshs_analysis_gives(text: str) -> None:
    for lang in ("en", "fr", "de"):
        schema = build_schema(lang)
        for name in ("text", "words", "prefixes", "title_words", "key", "title_exact"):
            field = schema[name]
            gatherer = fast_gatherer(field)
            assert gatherer is not None
            length = gatherer.add(text, 0)
            ours = [(term, weights[0], values[0]) for term, (_, weights, values), _ in gatherer.grouped()]
            whooshs = sorted(field.index(text))
            assert ours == [(term, weight, value) for term, _, weight, value in whooshs], (lang, name)
            assert length == sum(frequency for _, frequency, _, _ in whooshs)


def test_only_the_analysers_kb_defines_are_taken_over() -> None:
    schema = build_schema("en")
    assert {name for name in schema.names() if fast_gatherer(schema[name])} == {
        "text", "words", "prefixes", "title_words", "key", "category", "type", "fingerprint", "title_exact"}


def test_the_full_build_writer_refuses_an_index_that_has_documents(tmp_path: Path) -> None:
    ix = _write(tmp_path / "index", "en", _docs(["an answer"]), bulk=False)
    with pytest.raises(ValueError, match="new index"):
        BulkWriter(ix)
    writer = ix.writer()  # the refusal let the lock go
    writer.cancel()
