"""Page views: one per reader, article and day, queued off the request path.

The article and category pages report what they showed in full with its vote widget; crawlers
and scripts are left out (kb.analytics.visitors), as their votes are, so votes per view compare
the same readers. No IP is kept: a visitor is the keyed hash of the anonymous cookie id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from kb.analytics.visitors import is_bot
from kb.content.model import Article
from kb.storage.analytics import record_view
from kb.storage.db import Database


class PageViews:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, visitor: str, user_agent: str | None, articles: Iterable[Article]) -> None:
        """Queue one view of each article; never waits for the database (the writer batches
        queued writes, and a second view the same day by the same visitor is ignored there)."""
        if is_bot(user_agent):
            return
        day = datetime.now(UTC).date().isoformat()
        for article in articles:
            self.db.write_later(record_view(day, article.id, article.lang, visitor))
