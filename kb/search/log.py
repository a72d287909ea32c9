"""The search log: which searches were made and which of their results were opened.

Written off the request path (Database.write_later, kb.storage.searchlog). Only readers count:
crawlers' searches and clicks are not logged (kb.analytics.visitors.is_bot), and clicks are
recorded within per-visitor and per-address limits, so that click-through compares people.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.analytics.visitors import is_bot
from kb.ratelimit import ClickLimits
from kb.search.results import SearchResults
from kb.storage import searchlog
from kb.storage.db import Database


@dataclass(frozen=True)
class SearchLog:
    db: Database
    click_limits: ClickLimits  # per process, shared by every request

    def record_search(self, results: SearchResults, category: str | None, type: str | None,
                      visitor: str, user_agent: str | None) -> int | None:
        """Queue a search of the visitor's; returns its id (for its result links), or None
        when it is not logged. Its result count is the reader's language's only."""
        if is_bot(user_agent):
            return None
        search_id = searchlog.new_search_id()
        self.db.write_later(searchlog.record_search(
            search_id, results.query.lower(), results.lang, category, type,
            results.total, results.took_ms,
            visitor))
        return search_id

    def record_click(self, search_id: int, lang: str, article_id: int, rank: int, visitor: str,
                     address: str | None, user_agent: str | None) -> bool:
        """Queue a click on the `rank`th result of a search; False when it is not recorded.

        The writer keeps it only for a search of the same visitor, once per result (see
        searchlog.record_click).
        """
        if is_bot(user_agent) or not self.click_limits.allow(visitor, address):
            return False
        self.db.write_later(searchlog.record_click(search_id, lang, article_id, rank, visitor))
        return True
