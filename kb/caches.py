"""The one bounded, thread-safe LRU map behind kb's in-memory caches.

Each cache weighs its values (by default 1, a count; or bytes, characters) and drops the least
recently used past its capacity, always keeping the last value put: a value larger than the
whole capacity is still served once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _one(_value: object) -> int:
    return 1


class LRU(Generic[K, V]):
    def __init__(self, capacity: int, weigh: Callable[[V], int] = _one) -> None:
        self.capacity = capacity
        self.weigh = weigh
        self.total = 0  # the weight of what is kept
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.total -= self.weigh(old)
            self._data[key] = value
            self.total += self.weigh(value)
            while self.total > self.capacity and len(self._data) > 1:
                _, dropped = self._data.popitem(last=False)
                self.total -= self.weigh(dropped)

    def pop(self, key: K) -> V | None:
        with self._lock:
            value = self._data.pop(key, None)
            if value is not None:
                self.total -= self.weigh(value)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.total = 0
