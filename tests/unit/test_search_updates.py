"""An edit's commit (kb.search.updates.write_changes) leaves the index Whoosh's own update_document
and delete_by_term leave: every article once, in its last version, wherever its older versions
were (the full build's segment, an earlier edit's, a fold's)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.writing import NO_MERGE

from kb.search.analysis import build_schema
from kb.search.builds import Build
from kb.search.updates import fold_segments, write_changes

SLUGS = ["router", "modem", "vip-code", "refund", "invoice"]


def _doc(slug: str, version: int) -> dict[str, Any]:
    text = f"{slug} version {version}"
    return {"key": slug, "id": SLUGS.index(slug) + 1, "title": text, "summary": text, "body": text,
            "text": text, "category": "billing", "type": "faq", "updated": datetime(2026, 1, 1),
            "fingerprint": f"{slug}-{version}", "words": text, "prefixes": text, "title_words": text,
            "title_exact": text}


def _index(folder: Path) -> Any:
    ix = whoosh_index.create_in(str(folder), build_schema("en"), indexname="en")
    writer = ix.writer()
    for slug in SLUGS[:3]:  # the full build's segment
        writer.add_document(**_doc(slug, 0))
    writer.commit()
    return ix


def _articles(ix: Any) -> dict[str, str]:
    with ix.searcher() as searcher:
        stored = [fields for _, fields in searcher.reader().iter_docs()]
    assert len(stored) == len({fields["key"] for fields in stored}), "an article is in the index twice"
    return {fields["key"]: fields["title"] for fields in stored}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SLUGS), st.sampled_from(["edit", "remove", "fold"])), max_size=14))
def test_edits_and_removals_leave_what_whooshs_update_document_leaves(steps: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as whoosh_dir:
        ours = Build("b-test", Path(ours_dir), {"en": _index(Path(ours_dir))}, {})
        reference = _index(Path(whoosh_dir))
        for version, (slug, action) in enumerate(steps, start=1):
            if action == "fold":  # segments merged: their ids change, deletions are dropped
                fold_segments(ours, "en", beyond=2)
                continue
            docs, removed = ([], [slug]) if action == "remove" else ([_doc(slug, version)], [])
            ours.indexes["en"] = write_changes(ours, "en", docs, removed)
            writer = reference.writer()
            for gone in removed:
                writer.delete_by_term("key", gone)
            for doc in docs:
                writer.update_document(**doc)
            writer.commit(mergetype=NO_MERGE)
            assert _articles(ours.indexes["en"]) == _articles(reference)
