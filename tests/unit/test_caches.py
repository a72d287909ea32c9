"""kb.caches.LRU: the bound every in-memory cache of kb keeps."""

from __future__ import annotations

from kb.caches import LRU


def test_the_least_recently_read_go_first_past_the_count() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_weighed_values_stay_within_the_capacity_but_the_last_one_is_always_kept() -> None:
    cache: LRU[str, str] = LRU(10, len)
    cache.put("a", "xxxx")
    cache.put("b", "yyyy")
    cache.put("c", "zzzz")
    assert cache.total == 8 and len(cache) == 2 and cache.get("a") is None
    cache.put("big", "w" * 50)
    assert len(cache) == 1 and cache.get("big") == "w" * 50
    assert cache.pop("big") is not None and cache.total == 0
