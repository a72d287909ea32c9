"""The search area's exceptions: what callers (the service, the routes, `kb index`) catch."""

from __future__ import annotations

RETRY_AFTER_SECONDS = 5  # what a 503 tells clients while the index is built


class SearchBusy(Exception):
    """Another process holds the index's write lock; the update is retried later."""


class LargeChange(Exception):
    """More articles changed, or more documents would be folded, than an update in place
    should write: the service builds the index anew aside (kb.search.service), searching the
    open one meanwhile."""

    def __init__(self, count: int, what: str = "articles changed") -> None:
        super().__init__(f"{count} {what}")
        self.count = count


class SearchUnavailable(Exception):
    """No index to search yet: it is being built (at start, or after it was deleted)."""

    def __init__(self, status: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(f"the search index is {status}")
        self.status = status
        self.retry_after = retry_after
