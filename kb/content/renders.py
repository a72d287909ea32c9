"""The renderings Site keeps: bounded by their size, the policy keys they showed kept for all.

A rendering is kept by article key with the stamp it was made for (the article's revision and
the policy version); the least recently used go past `max_chars` of HTML and text, so a crawler
reading every page of 50,000 articles cannot hold them all in memory. What a policy change asks
of every article (the policy keys its page shows) stays for every article rendered since: a
frozen set, mostly empty, instead of the page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from kb.caches import LRU
from kb.render.markdown import Rendered

Key = tuple[str, str]  # (lang, slug)
Stamp = tuple[str, str]  # (article revision, policy version)

RENDER_CACHE_CHARS = 64 * 1024 * 1024  # of HTML, text and prose together


def _size(rendered: Rendered) -> int:
    return len(rendered.html) + len(rendered.text) + len(rendered.prose) + 256


class RenderCache:
    """Thread-safe; `get` and `put` are Site.rendered's, `keep` follows each reload."""

    def __init__(self, max_chars: int = RENDER_CACHE_CHARS) -> None:
        self._pages: LRU[Key, tuple[Stamp, Rendered]] = LRU(max_chars, lambda page: _size(page[1]))
        self._keys: dict[Key, tuple[Stamp, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def max_chars(self) -> int:
        return self._pages.capacity

    @max_chars.setter
    def max_chars(self, chars: int) -> None:
        self._pages.capacity = chars

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Key, stamp: Stamp) -> Rendered | None:
        found = self._pages.get(key)
        return found[1] if found is not None and found[0] == stamp else None

    def put(self, key: Key, stamp: Stamp, rendered: Rendered) -> None:
        with self._lock:
            self._keys[key] = (stamp, rendered.policy_keys)
        self._pages.put(key, (stamp, rendered))

    def policy_keys(self, key: Key, stamp: Stamp) -> frozenset[str] | None:
        """The policy keys the rendering for `stamp` showed; None when it was never made."""
        found = self._keys.get(key)
        return found[1] if found is not None and found[0] == stamp else None

    def keep(self, wanted: Callable[[Key], bool]) -> None:
        """Keep only what belongs to `wanted` articles (a full reload: those still there)."""
        with self._lock:
            self._drop([k for k in self._keys if not wanted(k)])

    def drop(self, keys: Iterable[Key]) -> None:
        """Forget these articles (a reload of a few files: those it removed)."""
        with self._lock:
            self._drop(keys)

    def _drop(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self._keys.pop(key, None)
            self._pages.pop(key)
