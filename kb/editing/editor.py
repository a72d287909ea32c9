"""Editing use cases of the web editor: list, open, create, save, publish, unpublish, delete.

A save writes the article's file through the Workspace (only if it is still the file the form
was opened from). A published article can carry a pending draft, kept in SQLite until it is
published, so the live version stays up meanwhile. Checking a form is kb.editing.checks', and an
article's history kb.editing.history's; the Editor puts them together for the web layer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from kb.content.files import FileChanged
from kb.content.loader import next_free_id
from kb.content.model import LANG_RE, SLUG_RE, Article, slugify
from kb.content.remote import RemoteFollower
from kb.content.site import Site
from kb.editing.bases import BaseTexts
from kb.editing.checks import Checked, Checker
from kb.editing.forms import ArticleForm, ListFilter
from kb.editing.frontmatter import set_status
from kb.editing.history import History
from kb.editing.workspace import (
    Outcome,
    Workspace,
    conflict,
    new_revision,
    text_revision,
    unified_diff,
)
from kb.errors import BadRequest, NotFound
from kb.storage import revisions as store
from kb.storage.db import Database

ACTIONS = ("draft", "review", "publish")


@dataclass(frozen=True)
class Listed:
    """A row of the article list."""

    article: Article
    status: str
    pending: store.PendingRow | None
    last_change: store.RevisionRow | None
    translations: tuple[tuple[str, Article | None, bool], ...]  # (lang, article or missing, outdated)
    outdated: bool


def status_of(article: Article, pending: store.PendingRow | None) -> str:
    """What the list shows: the file's status, unless the editor holds a review or a draft."""
    if pending is not None and pending.review:
        return "review"
    if article.published:
        return "pending" if pending is not None and pending.text is not None else "published"
    return "draft"


def pending_stamp(pending: store.PendingRow | None) -> str:
    """The pending draft a form was opened with: a save refuses a form opened before a change."""
    return "" if pending is None else text_revision(f"{pending.updated_at}|{pending.review}|{pending.text}")


@dataclass
class Editor:
    """The editing service: Services.editor of the web layer."""

    site: Site
    db: Database
    lock_file: Path
    default_lang: str = "en"
    follower: RemoteFollower | None = None  # KB_CONTENT_REMOTE: saves are commits pushed there
    workspace: Workspace = field(init=False)
    checker: Checker = field(init=False)
    history: History = field(init=False)
    bases: BaseTexts = field(init=False)

    def __post_init__(self) -> None:
        self.workspace = Workspace(self.site, self.db, self.lock_file, self.follower)
        self.checker = Checker(self.site, self.default_lang)
        self.history = History(self.workspace)
        self.bases = BaseTexts(self.site, self.db, self.workspace)

    # --- reading --------------------------------------------------------------------------

    def article(self, lang: str, slug: str) -> Article:
        """Any article, drafts included; odd languages and slugs are simply not found."""
        if not LANG_RE.match(lang) or not SLUG_RE.match(slug):
            raise NotFound("article not found")
        return self.site.article(lang, slug, drafts=True, internal=True)  # staff edit every article

    def languages(self) -> list[str]:
        found = {a.lang for a in self.site.content.articles.values()} | {self.default_lang}
        return sorted(found)

    async def listing(self, wanted: ListFilter) -> list[Listed]:
        articles = list(self.site.content.articles.values())
        pending = await store.all_pending(self.db)
        changes = await store.last_changes(self.db)
        groups: dict[int, dict[str, Article]] = defaultdict(dict)
        for article in articles:
            groups[article.id][article.lang] = article
        languages = self.languages()
        needle = wanted.q.casefold()
        rows = []
        for article in articles:
            row_pending = pending.get((article.lang, article.id))
            status = status_of(article, row_pending)
            if ((wanted.lang and article.lang != wanted.lang) or (wanted.category and article.category != wanted.category)
                    or (wanted.type and article.type != wanted.type) or (wanted.status and status != wanted.status)
                    or (needle and needle not in article.title.casefold())):
                continue
            group = groups[article.id]
            rows.append(Listed(
                article=article, status=status, pending=row_pending,
                last_change=changes.get((article.lang, article.id)),
                translations=tuple((lang, group.get(lang), self._outdated(group.get(lang), group))
                                   for lang in languages if lang != article.lang),
                outdated=self._outdated(article, group),
            ))
        rows.sort(key=lambda r: (r.article.title.casefold(), r.article.lang))
        return rows

    def _outdated(self, article: Article | None, group: dict[str, Article]) -> bool:
        """A translation is older than its source (the default language's version)."""
        source = group.get(self.default_lang)
        return bool(article and source and article.lang != source.lang and article.updated < source.updated)

    async def deleted(self) -> list[store.RevisionRow]:
        """Articles whose last recorded action is a deletion and that are not back on disk."""
        present = {(a.lang, a.id) for a in self.site.content.articles.values()}
        return sorted((r for key, r in (await store.last_changes(self.db)).items()
                       if r.action == "delete" and key not in present), key=lambda r: r.created_at, reverse=True)

    async def open(self, lang: str, slug: str) -> tuple[Article, ArticleForm, store.PendingRow | None]:
        """The article, its form (with the pending draft's text when there is one) and the draft."""
        article = self.article(lang, slug)
        pending = await store.pending_edit(self.db, lang, article.id)
        text = pending.text if pending is not None and pending.text is not None else article.source
        form = ArticleForm.from_text(text, lang=lang, slug=slug)
        form.base_revision = article.revision
        form.base_pending = pending_stamp(pending)
        return article, form, pending

    def new_form(self, *, lang: str, category: str = "", translate: Article | None = None) -> ArticleForm:
        if translate is not None:
            form = ArticleForm.from_text(translate.source, lang=lang, slug="")
            form.translation_of = str(translate.id)
            form.updated = date.today().isoformat()
            return form
        return ArticleForm(lang=lang, category=category, updated=date.today().isoformat(),
                           body="## Answer\n\n")

    def preview(self, form: ArticleForm, existing: Article | None = None) -> Checked:
        return self.checker.check(form, existing=existing)

    # --- writing --------------------------------------------------------------------------

    async def create(self, form: ArticleForm, action: str, author: str) -> Outcome:
        _check_action(action)
        status = "published" if action == "publish" else "draft"
        async with self.workspace.lock:
            lang, slug = form.lang, form.slug or slugify(form.title)
            form = replace(form, slug=slug)
            translation = self.checker.translation_id(form)
            article_id = translation if translation is not None else await asyncio.to_thread(
                next_free_id, self.site.content_dir)
            checked = self.checker.check(form, status=status, article_id=article_id)
            if not checked.allows(action):
                return Outcome("invalid", lang, slug, checked)
            assert checked.article is not None
            relative = checked.article.path
            try:
                await self.workspace.replace(relative, checked.text, None, author=author, message=form.message)
            except FileChanged as exc:
                return conflict(exc, checked.text, lang, slug, checked)
            revisions = [new_revision(article_id, lang, slug, relative, checked.text, author, form.message,
                                      "publish" if action == "publish" else "create")]
            pending = _review_row(lang, article_id, slug, checked.text, author, form.message) \
                if action == "review" else None
            await store.record(self.db, revisions, pending=pending)
            await self.workspace.reload()
        return Outcome("saved", lang, slug, checked)

    async def save(self, lang: str, slug: str, form: ArticleForm, action: str, author: str) -> Outcome:
        """Save draft / submit for review / publish an existing article, refusing stale forms."""
        _check_action(action)
        async with self.workspace.lock:
            article = self.article(lang, slug)
            pending = await store.pending_edit(self.db, lang, article.id)
            keep_live = article.published and action != "publish"
            status = "published" if action == "publish" or keep_live else "draft"
            # Patched from the version the form was opened from, not from a reload since.
            base = await self.bases.text_of(article, form.base_revision)
            checked = self.checker.check(form, existing=article, status=status, base_text=base)
            if not checked.allows(action):
                return Outcome("invalid", lang, slug, checked)
            if base is None:  # a version known nowhere: the file has changed since
                return await self._stale(article, checked.text, checked)
            if form.base_pending != pending_stamp(pending) and form.base_revision == article.revision:
                mine = pending.text if pending is not None and pending.text is not None else article.source
                return Outcome("conflict", lang, slug, checked, message="pending",
                               diff=unified_diff(mine, checked.text, "saved draft now", "your version"),
                               current_revision=article.revision)
            if keep_live:
                return await self._save_pending(article, form, checked, action, author)
            try:
                on_disk = await self.workspace.replace(article.path, checked.text, form.base_revision, author=author,
                                                       message=form.message)
            except FileChanged as exc:
                return self._refused(exc, checked.text, lang, slug, checked)
            revisions = await self.workspace.catch_up(article, on_disk)
            revisions.append(new_revision(article.id, lang, slug, article.path, checked.text, author,
                                          form.message, "publish" if action == "publish" else "save"))
            review = _review_row(lang, article.id, slug, checked.text, author, form.message) \
                if action == "review" else None
            await store.record(self.db, revisions, pending=review, clear_pending=(lang, article.id))
            await self.workspace.reload()
        return Outcome("saved", lang, slug, checked)

    async def _save_pending(self, article: Article, form: ArticleForm, checked: Checked, action: str,
                            author: str) -> Outcome:
        """A published article's draft goes to SQLite; the live file stays as it is."""
        current = await self.workspace.read(article.path)
        if current is None or text_revision(current) != form.base_revision:
            return self._refused(FileChanged(current), checked.text, article.lang, article.slug, checked)
        key = (article.lang, article.id)
        revisions = await self.workspace.catch_up(article, current)
        if checked.text == current and action == "draft":  # back to the live text: nothing pending
            await store.record(self.db, revisions, clear_pending=key)
            return Outcome("saved", article.lang, article.slug, checked)
        revisions.append(new_revision(article.id, article.lang, article.slug, article.path, checked.text, author,
                                      form.message, action))
        pending = store.PendingRow(lang=article.lang, article_id=article.id, slug=article.slug, text=checked.text,
                                   base_revision=article.revision, review=action == "review", author=author,
                                   message=form.message, updated_at="")
        await store.record(self.db, revisions, pending=pending)
        return Outcome("saved", article.lang, article.slug, checked)

    async def discard_pending(self, lang: str, slug: str, author: str) -> None:
        article = self.article(lang, slug)
        await store.record(self.db, [], clear_pending=(lang, article.id))

    async def unpublish(self, lang: str, slug: str, base_revision: str, author: str) -> Outcome:
        async with self.workspace.lock:
            article = self.article(lang, slug)
            base = await self.bases.text_of(article, base_revision)
            if base is None:
                return await self._stale(article, set_status(article.source, "draft"))
            text = set_status(base, "draft")
            try:
                on_disk = await self.workspace.replace(article.path, text, base_revision, author=author,
                                                       message=f"Unpublish {lang}/{slug}")
            except FileChanged as exc:
                return self._refused(exc, text, lang, slug)
            revisions = await self.workspace.catch_up(article, on_disk)
            revisions.append(new_revision(article.id, lang, slug, article.path, text, author, "", "unpublish"))
            await store.record(self.db, revisions)
            await self.workspace.reload()
        return Outcome("saved", lang, slug)

    async def delete(self, lang: str, slug: str, base_revision: str, author: str) -> Outcome:
        """Remove the file; its full text stays in history, from where it can be restored."""
        async with self.workspace.lock:
            article = self.article(lang, slug)
            base = await self.bases.text_of(article, base_revision)
            if base is None:
                return await self._stale(article, article.source)
            try:
                on_disk = await self.workspace.replace(article.path, None, base_revision, author=author,
                                                       message=f"Delete {lang}/{slug}")
            except FileChanged as exc:
                return self._refused(exc, base, lang, slug)
            assert on_disk is not None
            revisions = await self.workspace.catch_up(article, on_disk)
            revisions.append(new_revision(article.id, lang, slug, article.path, on_disk, author, "", "delete"))
            await store.record(self.db, revisions, clear_pending=(lang, article.id))
            await self.workspace.reload()
        return Outcome("saved", lang, slug)

    def _refused(self, exc: FileChanged, mine: str, lang: str, slug: str, checked: Checked | None = None) -> Outcome:
        """The diff from the form's version (`mine` is built from it) to the file on disk now,
        which becomes the form's base: kept, so a later refusal can still show it."""
        if exc.current is not None:
            self.bases.remember(text_revision(exc.current), exc.current)
        return conflict(exc, mine, lang, slug, checked)

    async def _stale(self, article: Article, mine: str, checked: Checked | None = None) -> Outcome:
        """Refused without a write: the form's version is known nowhere, so the file changed
        since; `mine` is the best guess there is (built from the loaded article)."""
        return self._refused(FileChanged(await self.workspace.read(article.path)), mine, article.lang,
                             article.slug, checked)


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")


def _review_row(lang: str, article_id: int, slug: str, text: str, author: str, message: str) -> store.PendingRow:
    """A draft article submitted for review: its file is the text to review (no pending text)."""
    return store.PendingRow(lang=lang, article_id=article_id, slug=slug, text=None,
                            base_revision=text_revision(text), review=True, author=author, message=message,
                            updated_at="")
