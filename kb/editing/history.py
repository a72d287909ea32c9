"""An article's history in the editor: its revisions, the diff of two, and restoring one.

History is the revisions table; a change made outside the editor is recorded when it is first
seen (as by "(outside the editor)"), so the list always ends at the file as it is on disk. A
restore writes a revision's text back, also for an article deleted since.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kb.content.files import FileChanged
from kb.content.loader import Addresses, parse_article
from kb.content.model import Article, Problem
from kb.editing.workspace import Outcome, Workspace, conflict, new_revision, unified_diff
from kb.errors import BadRequest, NotFound
from kb.storage import revisions as store


@dataclass
class History:
    workspace: Workspace

    def _article(self, lang: str, article_id: int) -> Article | None:
        return next((a for a in self.workspace.site.content.articles.values()
                     if a.lang == lang and a.id == article_id), None)

    async def of(self, lang: str, article_id: int) -> tuple[Article | None, list[store.RevisionRow]]:
        """The article (None when deleted) and its revisions, newest first; the file as it is on
        disk is recorded first when history does not know it (a change made outside the editor)."""
        db = self.workspace.db
        article = self._article(lang, article_id)
        if article is not None:
            extra = await self.workspace.catch_up(article, article.source)
            if extra:
                await store.record(db, extra)
        revisions = await store.revisions_of(db, lang, article_id)
        if article is None and not revisions:
            raise NotFound("article not found")
        return article, revisions

    async def revision(self, lang: str, article_id: int, revision_id: int) -> store.RevisionRow:
        found = await store.revision(self.workspace.db, revision_id)
        if found is None or found.lang != lang or found.article_id != article_id:
            raise NotFound("revision not found")
        return found

    async def diff(self, lang: str, article_id: int, old_id: int, new_id: int) -> tuple[
            store.RevisionRow, store.RevisionRow, tuple[str, ...]]:
        old = await self.revision(lang, article_id, old_id)
        new = await self.revision(lang, article_id, new_id)
        return old, new, unified_diff(old.text, new.text, f"revision {old.id}", f"revision {new.id}")

    async def restore(self, lang: str, article_id: int, revision_id: int, base_revision: str,
                      author: str) -> Outcome:
        """Write a revision's text back to the file (recreating a deleted article)."""
        workspace = self.workspace
        async with workspace.lock:
            chosen = await self.revision(lang, article_id, revision_id)
            article = self._article(lang, article_id)
            relative = article.path if article is not None else Path(chosen.path)
            slug = article.slug if article is not None else chosen.slug
            self._check_restorable(chosen, relative, article)
            expected = base_revision if article is not None else None
            try:
                on_disk = await workspace.replace(relative, chosen.text, expected, author=author,
                                                  message=f"Restore revision {chosen.id} of {lang}/{slug}")
            except FileChanged as exc:
                return conflict(exc, chosen.text, lang, slug)
            revisions = await workspace.catch_up(article, on_disk) if article is not None else []
            revisions.append(new_revision(article_id, lang, slug, relative, chosen.text, author,
                                          f"restored revision {chosen.id}", "restore"))
            await store.record(workspace.db, revisions, clear_pending=(lang, article_id))
            await workspace.reload()
        return Outcome("saved", lang, slug)

    def _check_restorable(self, chosen: store.RevisionRow, relative: Path, article: Article | None) -> None:
        """A revision that `kb check` would refuse, or whose slug another article took since the
        deletion, is not written back."""
        content = self.workspace.site.content
        found: list[Problem] = []
        if parse_article(content.root, relative, chosen.text.encode("utf-8"), content.categories, found) is None:
            raise BadRequest("this revision cannot be restored: " + "; ".join(p.message for p in found))
        if article is None:
            clash = Addresses.of(content).clash(chosen.lang, chosen.slug, chosen.article_id)
            if clash is not None:
                raise BadRequest(f"this revision cannot be restored: {clash[1]}")
