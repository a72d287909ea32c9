"""The columns a search reads for every document of a segment (text lengths, category, type;
at a start, slugs and fingerprints) are read whole (kb.search.columns) and give what Whoosh's
readers give value by value."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

from kb.content.site import Site
from kb.search import builds, columns
from kb.search.analysis import build_schema
from kb.search.bulk import BulkWriter
from kb.search.documents import document
from kb.search.index import SearchIndex
from tests.conftest import ContentTree

FACETS = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
DOCUMENTS = st.lists(st.tuples(FACETS, FACETS, st.text("ab cd\u00e9 ", max_size=60)), min_size=1, max_size=40)


def _segments(folder: Path, documents: list[tuple[str, str, str]], bulk: bool) -> list[Any]:
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), build_schema("en"), indexname="en")
    writer = BulkWriter(ix) if bulk else ix.writer()
    for n, (category, kind, text) in enumerate(documents):
        fields: dict[str, Any] = {"key": f"doc-{n}", "id": n, "category": category, "type": kind,
                                  "updated": datetime(2026, 1, 1), "fingerprint": f"f{n}"}
        if text.strip() or n % 2:  # some documents have no text: their length is the default
            fields["text"] = text
        writer.add_document(**fields)
    writer.commit()
    return [reader for reader, _ in ix.reader().leaf_readers()]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=40)
@given(DOCUMENTS, st.booleans())
def test_a_segments_columns_read_whole_are_what_whoosh_reads_value_by_value(
        tmp_path: Path, documents: list[tuple[str, str, str]], bulk: bool) -> None:
    folder = tmp_path / f"ix-{len(list(tmp_path.iterdir()))}"
    for reader in _segments(folder, documents, bulk):
        count = reader.doc_count_all()
        for name in ("category", "type"):
            found = columns.references(reader.column_reader(name, translate=False), count)
            assert found is not None
            refs, values = found
            assert len(set(values)) == len(values)
            assert [values[ref] for ref in refs.tolist()] == list(reader.column_reader(name, translate=False))
        for name in ("category", "key", "fingerprint"):
            assert columns.values(reader.column_reader(name, translate=False), count) == \
                list(reader.column_reader(name, translate=False))
        lengths = reader._perdoc._cached_reader(_lenfield("text"), LENGTHS_COLUMN)
        if lengths is None:  # no document has text (vectors._segment_lengths reads them one by one)
            continue
        assert columns.numbers(lengths, count, np.uint8).tolist() == list(lengths)


def test_a_column_of_another_kind_is_read_as_whoosh_reads_it() -> None:
    assert columns.references([b"a", b"b"], 2) is None
    assert columns.values(iter([b"a", b"b"]), 2) == [b"a", b"b"]
    assert columns.numbers(iter([3, 1, 2]), 3, np.uint8).tolist() == [3, 1, 2]


def test_a_reopened_index_knows_the_fingerprint_of_each_article_after_edits_and_removals(tmp_path: Path) -> None:
    """What a start compares the content with: an edited article's new fingerprint (its old
    version deleted in the first segment), none for a removed one."""
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 6):
        tree.add("en", f"page-{number}", id=number, title=f"Page {number}")
    site = Site(tree.root)
    site.load()
    index = SearchIndex(tmp_path / "index")
    index.rebuild(site)
    tree.add("en", "page-2", id=2, title="Page two, edited")
    (tree.root / "en" / "billing" / "page-4.md").unlink()
    site.load()
    index.sync(site)
    index.close()
    expected = {article.slug: document(site, article)["fingerprint"] for article in site.published()}
    found = builds.load_fingerprints(builds.open_current(tmp_path / "index"))
    assert found == {"en": expected} and set(expected) == {"page-1", "page-2", "page-3", "page-5"}
