"""The renderings Site keeps: bounded by their size, the policy keys they showed kept for all.

A rendering is kept by article key with the stamp it was made for (the article's revision and
the policy version); the least recently used go past `max_chars` of HTML and text, so a crawler
reading every page of 50,000 articles cannot hold them all in memory. What a policy change asks
of every article (the policy keys its page shows) stays for every article rendered since: a
frozen set, mostly empty, instead of the page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from kb.render.markdown import Rendered

Key = tuple[str, str]  # (lang, slug)
Stamp = tuple[str, str]  # (article revision, policy version)

RENDER_CACHE_CHARS = 64 * 1024 * 1024  # of HTML, text and prose together


def _size(rendered: Rendered) -> int:
    return len(rendered.html) + len(rendered.text) + len(rendered.prose) + 256


class RenderCache:
    """Thread-safe; `get` and `put` are Site.rendered's, `keep` follows each reload."""

    def __init__(self, max_chars: int = RENDER_CACHE_CHARS) -> None:
        self.max_chars = max_chars
        self._pages: OrderedDict[Key, tuple[Stamp, Rendered]] = OrderedDict()
        self._keys: dict[Key, tuple[Stamp, frozenset[str]]] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Key, stamp: Stamp) -> Rendered | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or found[0] != stamp:
                return None
            self._pages.move_to_end(key)
            return found[1]

    def put(self, key: Key, stamp: Stamp, rendered: Rendered) -> None:
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._chars -= _size(old[1])
            self._pages[key] = (stamp, rendered)
            self._chars += _size(rendered)
            self._keys[key] = (stamp, rendered.policy_keys)
            while self._chars > self.max_chars and len(self._pages) > 1:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._chars -= _size(dropped)

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
            page = self._pages.pop(key, None)
            if page is not None:
                self._chars -= _size(page[1])
