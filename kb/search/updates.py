"""Incremental changes to the open build: each edit a commit of its own, searchable at once,
and segments folded once there are too many (kb.search.builds makes and opens the builds)."""

from __future__ import annotations

from typing import Any

from whoosh import index as whoosh_index
from whoosh.reading import SegmentReader
from whoosh.writing import NO_MERGE

from kb.search import columns
from kb.search.analysis import build_schema
from kb.search.builds import Build
from kb.search.errors import LargeChange, SearchBusy

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
            _delete_key(writer, slug)
        for doc in docs:
            _delete_key(writer, doc["key"])  # update_document's part, see there
            writer.add_document(**doc)
        writer.commit(mergetype=NO_MERGE)  # searchable at once; folding segments is fold_segments'
    except BaseException:
        writer.cancel()
        raise
    return ix


# (index folder, segment id, documents) -> slug -> its document numbers in the segment (the
# documents of a segment never change; ids are random, so the folder and count guard them)
_KEYS: dict[tuple[str, str, int], dict[str, list[int]]] = {}
_KEYS_KEPT = 64  # segments: a language has a few, each rewritten by a fold now and then


def _delete_key(writer: Any, slug: str) -> None:
    """What update_document and delete_by_term do for `key` (the schema's one unique field),
    without their reader on every segment (an edit's commit at 50,000 articles, paired:
    47-67 ms with it, 10-25 ms without). Each segment's keys are read once; its deletions are
    the writer's."""
    offset = 0
    for segment in writer.segments:
        for docnum in _keys_of(writer.storage, writer.schema, segment).get(slug, ()):
            if not segment.is_deleted(docnum):
                writer.delete_document(offset + docnum)
        offset += segment.doc_count_all()


def read_keys(build: Build) -> None:
    """Read every segment's keys now (a start's catch-up does, once search is ready), not at
    the first edit, which would wait ~0.2 s at 50,000 articles."""
    for ix in build.indexes.values():
        for segment in ix._segments():
            _keys_of(ix.storage, ix.schema, segment)


def _keys_of(storage: Any, schema: Any, segment: Any) -> dict[str, list[int]]:
    key = (str(getattr(storage, "folder", "")), segment.segment_id(), segment.doc_count_all())
    found = _KEYS.get(key)
    if found is None:
        found = {}
        with SegmentReader(storage, schema, segment) as reader:
            field = reader.schema["key"]
            keys = columns.values(reader.column_reader("key", translate=False), segment.doc_count_all())
            for docnum, value in enumerate(keys):
                found.setdefault(field.from_column_value(value), []).append(docnum)
        while len(_KEYS) >= _KEYS_KEPT:
            del _KEYS[next(iter(_KEYS))]  # the oldest
        _KEYS[key] = found
    return found


def fold_segments(build: Build, lang: str, beyond: int = MAX_SEGMENTS, most: int | None = None) -> Any | None:
    """A commit of its own that folds segments when a language has more than `beyond`
    (_merge_small), made after the commit that added one is searchable: folding takes ~100 ms
    at 10,000 articles, which an edit no longer waits for. Returns the index when it folded.

    Raises LargeChange, folding nothing, when the fold would rewrite more than `most` documents
    (None: any number): on a large site, after months of edits, the fold that takes everything
    would hold the server's writer for the whole language and leave a segment without the full
    build's flat postings and positions, which a build aside writes."""
    ix = build.indexes.get(lang)
    if ix is None or len(segments := ix._segments()) <= beyond:
        return None
    if most is not None and (count := sum(s.doc_count() for s in _split(segments)[1])) > most:
        raise LargeChange(count, f"{lang} documents to fold")
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
    keep, folded = _split(segments)
    for segment in folded:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return keep


def _split(segments: list[Any]) -> tuple[list[Any], list[Any]]:
    """The segments _merge_small keeps and those it folds: the smaller half, or all of them."""
    if len(segments) <= MAX_SEGMENTS:
        return segments, []
    ordered = sorted(segments, key=lambda segment: segment.doc_count_all(), reverse=True)
    if sum(seg.doc_count_all() for seg in ordered[1:]) * 2 > ordered[0].doc_count_all():
        return [], ordered
    kept = len(ordered) - len(ordered) // 2
    return ordered[:kept], ordered[kept:]
