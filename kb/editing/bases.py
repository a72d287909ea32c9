"""The text of the version an editor form was opened from, whatever reloads happened since.

A form carries only the revision (hash) of the file it was opened from. A write the form asks
for is built from that version, and when the file changed outside the editor the refusal's diff
runs from that version to the file on disk now. The loaded article is that version only until the
content watcher reloads the site, so the text is looked up, in order: the loaded article, the
texts reloads replaced in this process (the last few hundred), the file on disk, the article's
history in the database (shared by every node). None: the version is known nowhere.
"""

from __future__ import annotations

import asyncio
import threading

from kb.caches import LRU
from kb.content.files import file_revision
from kb.content.model import Article
from kb.content.site import Change, Site
from kb.editing.workspace import Workspace
from kb.storage import revisions as store
from kb.storage.db import Database

KEPT = 512  # replaced texts kept in memory; older ones are still in history once the editor saw them


class BaseTexts:
    def __init__(self, site: Site, db: Database, workspace: Workspace, kept: int = KEPT) -> None:
        self.site, self.db, self.workspace, self.kept = site, db, workspace, kept
        self._texts: LRU[str, str] = LRU(kept)  # revision -> text
        self._lock = threading.Lock()  # reloads run in the watcher's thread
        self._known = site.content.articles
        site.on_change(self._replaced)

    def remember(self, revision: str, text: str) -> None:
        self._texts.put(revision, text)

    def _replaced(self, change: Change) -> None:
        """A reload: keep the texts of the articles it replaced or removed."""
        with self._lock:
            old, self._known = self._known, self.site.content.articles
        for key in change.changed | change.removed:
            previous = old.get(key)
            if previous is not None and previous is not self._known.get(key):
                self.remember(previous.revision, previous.source)

    async def text_of(self, article: Article, revision: str) -> str | None:
        if not revision:
            return None
        if article.revision == revision:
            return article.source
        kept = self._texts.get(revision)
        if kept is not None:
            return kept
        on_disk = await asyncio.to_thread(self._read, article)
        if on_disk is not None and file_revision(on_disk) == revision:
            return on_disk.decode("utf-8", errors="replace")
        for row in await store.revisions_of(self.db, article.lang, article.id):
            if row.revision == revision:
                return row.text
        return None

    def _read(self, article: Article) -> bytes | None:
        try:
            return self.workspace.path(article.path).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None
