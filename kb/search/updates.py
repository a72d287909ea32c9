"""Incremental changes to the open build: each edit a commit of its own, searchable at once,
and segments folded once there are too many (kb.search.builds makes and opens the builds)."""

from __future__ import annotations

from typing import Any

from whoosh import index as whoosh_index
from whoosh.reading import SegmentReader
from whoosh.writing import NO_MERGE

from kb.search.analysis import build_schema
from kb.search.builds import Build
from kb.search.errors import SearchBusy

WRITE_TIMEOUT = 10.0  # seconds to wait for another writer's lock (another process)
MAX_SEGMENTS = 8  # per language index, before an incremental commit merges some (_merge_small)



def write_changes(build: Build, lang: str, docs: list[dict[str, Any]], removed: list[str]) -> Any:
    """One commit to a language's index of the open build (created when the language is new);
    returns that index. Raises SearchBusy when another writer holds its lock past WRITE_TIMEOUT."""
    ix = build.indexes.get(lang)
    if ix is None:
        ix = whoosh_index.create_in(str(build.path), build_schema(lang), indexname=lang)
    try:
        writer = ix.writer(timeout=WRITE_TIMEOUT)
    except whoosh_index.LockError as exc:
        raise SearchBusy(f"the {lang} search index is locked by another writer") from exc
    try:
        for slug in removed:
            writer.delete_by_term("key", slug)
        for doc in docs:
            writer.update_document(**doc)
        writer.commit(mergetype=NO_MERGE)  # searchable at once; folding segments is fold_segments'
    except BaseException:
        writer.cancel()
        raise
    return ix


def fold_segments(build: Build, lang: str, beyond: int = MAX_SEGMENTS) -> Any | None:
    """A commit of its own that folds segments when a language has more than `beyond`
    (_merge_small), made after the commit that added one is searchable: folding takes ~100 ms
    at 10,000 articles, which an edit no longer waits for. Returns the index when it folded."""
    ix = build.indexes.get(lang)
    if ix is None or len(ix._segments()) <= beyond:
        return None
    try:
        writer = ix.writer(timeout=WRITE_TIMEOUT)
    except whoosh_index.LockError as exc:
        raise SearchBusy(f"the {lang} search index is locked by another writer") from exc
    try:
        writer.commit(mergetype=_merge_small)
    except BaseException:
        writer.cancel()
        raise
    return ix


def _merge_small(writer: Any, segments: list[Any]) -> list[Any]:
    """Merge policy of incremental updates. A commit writes its own documents only (an edit is
    searchable in milliseconds) until there are more than MAX_SEGMENTS segments; then the
    smaller half of them is folded into the new one, so each document is rewritten a few times
    at most (sizes grow geometrically) and searches open few segments. When the small segments
    hold more than half as many documents as the largest, everything is folded into one."""
    if len(segments) <= MAX_SEGMENTS:
        return segments
    ordered = sorted(segments, key=lambda segment: segment.doc_count_all(), reverse=True)
    if sum(seg.doc_count_all() for seg in ordered[1:]) * 2 > ordered[0].doc_count_all():
        keep = []
    else:
        keep = ordered[:len(ordered) - len(ordered) // 2]
    for segment in ordered[len(keep):]:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return keep
