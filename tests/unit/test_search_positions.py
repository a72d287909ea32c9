"""The full build's flat positions (kb.search.positions): every posting's positions as Whoosh
stores them, and Whoosh's own blocks read instead where a segment has no such file, or one that
is not its own."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.filedb.filestore import RamStorage
from whoosh.matching import FilterMatcher

from kb.search import flatpostings, matches, positions, vectors
from kb.search.analysis import SECTION_MARK, build_schema
from kb.search.bulk import BulkWriter
from tests.unit.test_search_bulk import WORDS, _docs


class PrivateRamStorage(RamStorage):  # type: ignore[misc]  # whoosh is untyped
    """Whoosh's RamStorage gives a writer its temporary files in `<system temp>/<index name>.tmp`,
    a folder every test process writing an index of that name shares (and deletes when done)."""

    def temp_storage(self, name: str | None = None) -> RamStorage:
        return RamStorage()


def _index(texts: list[str], bulk: bool = True, lang: str = "en") -> Any:
    # Hypothesis seeds `random`, which names Whoosh's segments: an index of an earlier example
    # may have had this one's segment id, which names the term arrays and blocks kept for it.
    vectors.clear()
    matches._blocks.clear()
    ix = PrivateRamStorage().create_index(build_schema(lang), indexname=lang)
    writer = BulkWriter(ix) if bulk else ix.writer()
    for doc in _docs(texts):
        writer.add_document(**doc)
    writer.commit()
    return ix


def _whooshs_positions(reader: Any, fieldname: str, text: bytes) -> dict[int, frozenset[int]]:
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    found = {}
    while matcher.is_active():
        found[matcher.id()] = frozenset(matcher.value_as("positions"))
        matcher.next()
    return found


def assert_flat_positions_are_whooshs(ix: Any) -> int:
    """Every term's positions in every document, from the flat file, are Whoosh's; returns how
    many postings were compared."""
    compared = 0
    with ix.searcher() as searcher:
        (reader,) = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        flat = positions.of_reader(reader)
        assert flat is not None
        for fieldname, text in reader.all_terms():
            if fieldname != "text":
                continue
            found = vectors.postings(reader, fieldname, text)
            term = flat.of(found.blocks[0], len(found.ids))
            assert term is not None, text
            whooshs = _whooshs_positions(reader, fieldname, text)
            assert {int(docnum): positions.positions(term, index)
                    for index, docnum in enumerate(found.ids)} == whooshs, text
            assert vectors.positions_at(reader, fieldname, text, found.ids) == whooshs
            compared += len(whooshs)
    return compared


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS + ["router", "modem", "the router"]), max_size=40).map(" ".join),
                min_size=1, max_size=12))
def test_the_positions_of_any_text_are_those_whoosh_stores(texts: list[str]) -> None:
    assert_flat_positions_are_whooshs(_index(texts))


def test_long_lists_and_positions_past_65535_are_whooshs_too() -> None:
    # 300 documents: "router"'s postings span three blocks; one document's sections reach
    # positions beyond 16 bits (100 between sections).
    texts = [" ".join(["router modem"] * (1 + n % 5)) for n in range(300)]
    texts[7] = SECTION_MARK.join(["router"] * 700)
    ix = _index(texts)
    assert assert_flat_positions_are_whooshs(ix) >= 600
    with ix.searcher() as searcher:
        flat = positions.of_reader(searcher.reader())
        assert flat is not None and flat.flat.dtype == np.dtype("<u4") and int(flat.flat.max()) > 65535


def test_a_segment_whooshs_own_writer_made_is_read_from_its_blocks() -> None:
    texts = ["router modem router", "modem", "the router and the modem"] * 50
    ix = _index(texts, bulk=False)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        assert positions.of_reader(reader) is None
        found = vectors.postings(reader, "text", b"router")
        assert isinstance(reader.postings("text", b"router"), W3LeafMatcher) and found.starts is not None
        assert vectors.positions_at(reader, "text", b"router", found.ids) == \
            _whooshs_positions(reader, "text", b"router")
        assert vectors.positions_at(reader, "text", b"router", found.ids) == \
            positions_at_of(_index(texts), "router")


def positions_at_of(ix: Any, word: str) -> dict[int, frozenset[int]]:
    with ix.searcher() as searcher:
        reader = searcher.reader()
        found = vectors.postings(reader, "text", word.encode())
        return vectors.positions_at(reader, "text", word.encode(), found.ids)


def _file_of(ix: Any, kind: Any) -> tuple[Any, bytes]:
    (segment,) = ix._segments()
    files = segment.open_compound_file(ix.storage)
    return segment, files.open_file(segment.make_filename(kind.EXTENSION)).read()


@pytest.mark.parametrize("kind", [positions, flatpostings], ids=["positions", "postings"])
def test_a_side_file_that_is_not_its_segments_is_not_read(kind: Any) -> None:
    ix = _index(["router modem", "modem router router"])
    other = _index(["router modem", "modem router router"])
    segment, data = _file_of(ix, kind)
    other_segment, _ = _file_of(other, kind)
    storage = RamStorage()

    def loaded(name_of: Any, content: bytes, described: Any) -> Any:
        with storage.create_file(name_of.make_filename(kind.EXTENSION)) as handle:
            handle.write(content)
        return kind.load(storage, described)

    assert loaded(segment, data, segment) is not None
    assert loaded(other_segment, data, other_segment) is None  # another segment's id
    grown = copy.copy(segment)
    grown.set_doc_count(segment.doc_count_all() + 1)
    assert loaded(segment, data, grown) is None  # another document count
    assert loaded(segment, data[:-8], segment) is None  # cut short
    assert loaded(segment, data + bytes(8), segment) is None  # longer than it says
    other_kind = flatpostings if kind is positions else positions
    assert loaded(segment, other_kind.MAGIC + data[8:], segment) is None  # the other side file's
    assert loaded(segment, kind.MAGIC[:5], segment) is None
    assert loaded(segment, b"", segment) is None
    assert kind.load(RamStorage(), segment) is None  # none at all
    assert loaded(segment, b"", segment) is None
    assert positions.load(RamStorage(), segment) is None  # none at all


def test_a_term_the_file_does_not_have_as_the_segment_does_is_not_read_from_it() -> None:
    ix = _index(["router modem", "modem router router", "router"])
    with ix.searcher() as searcher:
        reader = searcher.reader()
        flat = positions.of_reader(reader)
        assert flat is not None
        found = vectors.postings(reader, "text", b"router")
        assert flat.of(found.blocks[0], len(found.ids)) is not None
        assert flat.of(found.blocks[0], len(found.ids) - 1) is None  # another posting count
        assert flat.of(found.blocks[0] + 1, len(found.ids)) is None  # no term starts there
