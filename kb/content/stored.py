"""The loader's parse cache kept across restarts: a start parses only the files that changed.

One pickle (`CONTENT_CACHE_FILE` in the index folder: rebuilt from the content, like the index)
holds every file's (inode, mtime, size) stamp, its Article and its problems, and the snapshot of
the last full load (a start where no file changed takes it as it is). It is used only
by the same code (a digest of the loader and the model) for the same content folder; anything
else, or a damaged file, is ignored and the tree parsed again. The folder is trusted like the
data folder beside it (a pickle runs code when read).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path

from kb.content import loader, model
from kb.content.files import write_atomically_bytes
from kb.content.loader import ParseCache

log = logging.getLogger("kb.content")

# What a stored cache must match: the code that parsed it (a new field, a new rule) and the file
# format. A stored cache of other code is ignored, never half-used.
# The snapshot's `derived` is kb.content.site's catalog: its code counts too.
_CACHE_FORMAT = hashlib.sha256(b"kb-parse-cache-1" + Path(loader.__file__).read_bytes()
                               + Path(model.__file__).read_bytes()
                               + Path(loader.__file__).with_name("site.py").read_bytes()).hexdigest()[:16]


def save(cache: ParseCache, path: Path, root: Path) -> None:
    """Store the cache atomically for the next start."""
    data = pickle.dumps((_CACHE_FORMAT, str(root), cache.categories, cache.files, cache.snapshot),
                        protocol=pickle.HIGHEST_PROTOCOL)
    write_atomically_bytes(path, data)
    cache.parsed = 0


def restore(cache: ParseCache, path: Path, root: Path) -> bool:
    """Fill `cache` from a stored one of the same code and content folder; False (cache left
    as it was) when there is none, or it is unreadable or of another version."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    try:
        with paused_gc():
            found = pickle.loads(data)  # our own index folder
        if found[0] != _CACHE_FORMAT or found[1] != str(root):  # another version's (an upgrade)
            return False
        _, _, categories, files, snapshot = found
    except Exception as exc:  # noqa: BLE001 - any damage means: parse again
        log.warning("ignoring the content cache %s (%s)", path, type(exc).__name__)
        return False
    cache.categories, cache.files, cache.snapshot, cache.parsed = categories, files, snapshot, 0
    return True


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: loading 50,000 articles makes millions of objects
    and none of them garbage, yet the collector would walk them all again and again (a third
    of the parse cache's unpickling, 0.35 of 1 s CPU; of the catalog's sorts and maps that follow,
    0.45 of 1.9 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
