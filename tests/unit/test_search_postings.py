"""The full build's flat postings (kb.search.flatpostings): every term's document numbers and
weights as Whoosh's blocks give them back, and Whoosh's own blocks read instead where a segment
has no such file, one that is not its own, or one that does not have the term as it has it."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.matching import FilterMatcher

from kb.search import flatpostings, matches, vectors
from kb.search.analysis import plain_analyzer, text_analyzer
from kb.search.bulk import BulkWriter
from tests.unit.test_search_bulk import WORDS
from tests.unit.test_search_positions import PrivateRamStorage, _file_of, _index, _whooshs_positions


def _whooshs(reader: Any, fieldname: str, text: bytes) -> tuple[list[int], list[float]]:
    """A term's document numbers and weights as Whoosh's own matcher gives them, one by one."""
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def _from_blocks(reader: Any, fieldname: str, text: bytes) -> vectors.Postings:
    """A term's postings as kb read them before the flat postings: decoded from the blocks."""
    return vectors._read_postings(reader.postings(fieldname, text))


def _only_segment(searcher: Any) -> Any:
    (reader,) = [leaf for leaf, _ in searcher.reader().leaf_readers()]
    return reader


def _assert_same(found: vectors.Postings, expected: vectors.Postings) -> None:
    assert found.ids.dtype == np.int64 and found.weights.dtype == np.float64
    assert found.ids.tolist() == expected.ids.tolist()
    assert found.weights.tolist() == expected.weights.tolist()


def assert_flat_postings_are_whooshs(ix: Any) -> int:
    """Every term of every field is sliced from the flat postings, with Whoosh's document
    numbers and weights (as float64, what the blocks gave) and the start its flat positions
    are found by; returns how many postings were compared."""
    compared = 0
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        assert flatpostings.of_reader(reader) is not None
        for fieldname, text in reader.all_terms():
            found = vectors.postings(reader, fieldname, text)
            assert found.starts is None, (fieldname, text)  # sliced, not decoded
            ids, weights = _whooshs(reader, fieldname, text)
            assert found.ids.tolist() == ids, (fieldname, text)
            assert found.weights.tolist() == weights, (fieldname, text)
            blocks = _from_blocks(reader, fieldname, text)
            _assert_same(found, blocks)
            assert found.blocks[0] == blocks.blocks[0]  # where kb.search.positions finds the term
            compared += len(ids)
    return compared


# Words said once or many times, so a block's weights are all 1.0 (stored as None), all another
# same value (stored as one float) or differ (a tuple), in every field, positions or not.
@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS + ["router", "router router", "modem modem modem"]),
                         max_size=30).map(" ".join), min_size=1, max_size=10),
       st.sampled_from([1, 30]))
def test_the_postings_of_any_text_are_those_whoosh_stores(texts: list[str], copies: int) -> None:
    # With 30 copies, a word of every document has 300 postings: three blocks of at most 128.
    assert_flat_postings_are_whooshs(_index(texts * copies))


def _stored_weights(reader: Any, fieldname: str, text: bytes) -> list[Any]:
    """How each block of a term stores its weights: None (all 1.0), one float or a tuple."""
    matcher = reader.postings(fieldname, text)
    stored = []
    while matcher.is_active():
        matcher._read_data()
        stored.append(matcher._data[1])
        matcher._next_block()
    return stored


def test_blocks_of_one_repeated_weight_and_long_lists_are_whooshs_too() -> None:
    texts = [f"router router modem {'cable ' * (n % 3)}" for n in range(300)]
    ix = _index(texts)
    assert assert_flat_postings_are_whooshs(ix) > 3000
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        assert _stored_weights(reader, "words", b"router") == [2.0, 2.0, 2.0]  # 300 postings, 3 blocks
        assert _stored_weights(reader, "words", b"modem") == [None, None, None]
        assert all(isinstance(weights, tuple) for weights in _stored_weights(reader, "words", b"cable"))
        assert vectors.postings(reader, "words", b"router").weights.tolist() == [2.0] * 300


def test_weights_that_are_no_float32_are_whooshs_float32s() -> None:
    schema = Schema(key=ID(unique=True, stored=True),
                    words=TEXT(analyzer=plain_analyzer(), phrase=False, field_boost=1.1),
                    text=TEXT(analyzer=text_analyzer("en"), field_boost=0.7))
    ix = PrivateRamStorage().create_index(schema, indexname="boosted")
    vectors.clear()
    writer = BulkWriter(ix)
    for n in range(200):
        writer.add_document(key=f"doc-{n}", words="router " * (1 + n % 3), text="modem " * (1 + n % 4))
    writer.commit()
    assert assert_flat_postings_are_whooshs(ix) >= 600
    with ix.searcher() as searcher:
        weights = vectors.postings(_only_segment(searcher), "words", b"router").weights
        assert weights[0] == float(np.float32(1.1)) != 1.1


def test_a_segment_whooshs_own_writer_made_is_read_from_its_blocks() -> None:
    texts = ["router modem router", "modem", "the router and the modem"] * 50
    ix = _index(texts, bulk=False)
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        assert flatpostings.of_reader(reader) is None
        found = vectors.postings(reader, "text", b"router")
        assert found.starts is not None  # decoded from the blocks
        _assert_same(found, _from_blocks(reader, "text", b"router"))
    with _index(texts).searcher() as searcher:  # the same documents, written by the full build
        _assert_same(vectors.postings(_only_segment(searcher), "text", b"router"), found)


def test_deleted_documents_stay_in_the_postings_as_they_did() -> None:
    # The caller takes deletions off (vectors._term): the flat postings keep them, as the
    # blocks' reading did.
    ix = _index(["router modem", "modem router router", "router"] * 10)
    with ix.writer() as writer:
        writer.delete_document(1)
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        assert reader.has_deletions() and flatpostings.of_reader(reader) is not None
        found = vectors.postings(reader, "text", b"router")
        assert found.starts is None and 1 in found.ids.tolist()
        _assert_same(found, _from_blocks(reader, "text", b"router"))


def test_a_segment_with_another_segments_file_is_read_from_its_blocks() -> None:
    texts = ["router modem", "modem router router", "router"]
    ix, other = _index(texts), _index(texts)
    other_segment, data = _file_of(other, flatpostings)
    storage = RamStorage()
    with storage.create_file(other_segment.make_filename(flatpostings.EXTENSION)) as handle:
        handle.write(data)
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        (segment,) = ix._segments()
        assert flatpostings.load(storage, segment) is None and flatpostings.load(storage, other_segment) is not None
        reader.__dict__["_kb_flat_postings"] = flatpostings.load(storage, segment)  # as of_reader keeps it
        found = vectors.postings(reader, "text", b"router")
        assert found.starts is not None
        _assert_same(found, _from_blocks(reader, "text", b"router"))


def test_a_term_the_file_does_not_have_as_the_segment_does_is_read_from_its_blocks() -> None:
    ix = _index(["router modem", "modem router router", "router"] * 50)
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        flat = flatpostings.of_reader(reader)
        assert flat is not None
        start = vectors.postings(reader, "text", b"router").blocks[0]
        assert flat.of(start, 150) is not None
        assert flat.of(start, 149) is None  # another posting count
        assert flat.of(start + 1, 150) is None  # no term starts there
        # A file whose "router" has one posting less than the segment's: read from the blocks.
        at = int(np.searchsorted(flat.starts, start))
        firsts = flat.firsts.copy()
        firsts[at + 1] -= 1
        reader.__dict__["_kb_flat_postings"] = flatpostings.FlatPostings(flat.starts, firsts, flat.ids, flat.weights)
        vectors.clear()
        found = vectors.postings(reader, "text", b"router")
        assert found.starts is not None
        _assert_same(found, _from_blocks(reader, "text", b"router"))


def test_positions_are_found_without_the_flat_positions_too() -> None:
    # Flat postings but no flat positions (a damaged file, a field Whoosh's analyser indexed):
    # the term's postings are walked for the positions.
    texts = ["router modem router", "modem", "the router and the modem"] * 100
    ix = _index(texts)
    with ix.searcher() as searcher:
        reader = _only_segment(searcher)
        reader.__dict__["_kb_flat"] = None  # as positions.of_reader keeps "none"
        found = vectors.postings(reader, "text", b"router")
        assert found.starts is None and len(found.ids) == 200
        wanted = found.ids[::7]
        whooshs = _whooshs_positions(reader, "text", b"router")
        assert vectors.positions_at(reader, "text", b"router", wanted) == \
            {int(docnum): whooshs[int(docnum)] for docnum in wanted}


def test_the_kept_decoded_blocks_are_not_needed() -> None:
    # Reading a term from the flat postings decodes no block: none is kept for it.
    ix = _index(["router modem"] * 300)
    matches._blocks.clear()
    with ix.searcher() as searcher:
        vectors.postings(_only_segment(searcher), "text", b"router")
    assert len(matches._blocks) == 0
