"""A reload of the files a watcher named, in time proportional to the change.

At 50,000 articles a full load (every file's stamp, every article's addresses, the problems
sorted) costs hundreds of milliseconds; an edit must be searchable in less. update_content
starts from the loaded ContentSet and the parse cache and touches only the named files, and
says when it cannot be sure to give what load_content would: then the caller loads in full.
A start does the same with the files edited while the server was stopped (a pull before a
restart): start_from_snapshot.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from kb.content.loader import ParseCache, load_categories, take_snapshot
from kb.content.model import ContentSet, Problem, display_path
from kb.content.scan import Stamp, file_stamp

# A full load instead when more than one file in NEAR_SHARE changed (it reads only those too,
# but goes over every file's addresses and problems).
NEAR_SHARE = 10


def update_content(previous: ContentSet, cache: ParseCache,
                   changed: Collection[Path]) -> tuple[ContentSet, frozenset[tuple[str, str]]] | None:
    """`previous` (what load_content gave with `cache`, synonyms included) with only the
    `changed` .md files (relative) read again, and the keys of the articles they held or hold:
    load_content's result in time proportional to the change (a watcher's reload at 50,000
    articles). None when only a full load can tell: a new file or one newly valid (where it
    sorts), the categories changed, or an address (slug or id) is or was disputed."""
    root, addresses = previous.root, cache.addresses
    if addresses is None or cache.clashes or cache.categories is None:
        return None
    cache.snapshot = None  # its addresses are changed in place below; a full load makes another
    files = [relative.as_posix() for relative in changed]
    if any(file not in cache.files for file in files):
        return None
    categories = load_categories(root, [])
    if categories != cache.categories:
        return None
    articles = dict(previous.articles)
    shown = {display_path(root, relative) for relative in changed}
    problems = [problem for problem in previous.problems if problem.path not in shown]
    keys: set[tuple[str, str]] = set()
    for file in files:
        old = cache.files[file][1]
        stamp = file_stamp(root / file)
        article, found = cache.parse(root, file, categories, stamp) if stamp else (None, [])
        if stamp is None:
            del cache.files[file]
        if old is None and article is not None:
            return None
        problems.extend(found)
        if old is not None:
            keys.add(old.key)
            addresses.remove(old)
            if article is None:
                articles.pop(old.key, None)
        if article is not None:
            if addresses.clash(article.lang, article.slug, article.id) is not None:
                return None
            addresses.add(article)
            articles[article.key] = article  # the same key (the file's place): the same position
    return ContentSet(root=root, categories=previous.categories, articles=articles,
                      problems=sorted(problems), synonyms=previous.synonyms), frozenset(keys)



def start_from_snapshot(root: Path, cache: ParseCache, stamps: dict[str, Stamp]) -> ContentSet | None:
    """load_content's result when the files at `stamps` (a scan of the tree) differ from the
    parse cache's snapshot in the contents of a few only, no file added or removed and the
    categories the same: the snapshot with those files read again. None when a full load is
    needed (or when nothing changed: load_content takes the snapshot as it is)."""
    kept = cache.snapshot
    if kept is None or cache.categories is None or stamps.keys() != kept.stamps.keys():
        return None
    modified = [Path(file) for file, stamp in stamps.items() if kept.stamps[file] != stamp]
    if not modified or len(modified) * NEAR_SHARE > len(stamps):
        return None
    problems: list[Problem] = []
    categories = load_categories(root, problems)
    if categories != cache.categories:
        return None
    previous = take_snapshot(cache, ContentSet(root=root, categories=categories, problems=problems))
    updated = update_content(previous, cache, modified)
    # Not stored as the next start's snapshot: pickling 50,000 articles again would cost this
    # start ~0.9 s, and the next one reads these few files again in milliseconds.
    return None if updated is None else updated[0]
