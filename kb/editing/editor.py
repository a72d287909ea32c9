"""Editing use cases of the web editor: list, check, preview, save, publish, history, restore.

Files are the source of truth. A save writes the article's .md file atomically, and only if the
file is still the one the editor opened (its revision hash travels in the form); otherwise the
save is refused with a diff. A published article can carry a pending draft, kept in SQLite until
it is published, so the live version stays up meanwhile. Every version the editor writes or
sees is kept in the revisions table. After each write the Site reloads, which re-indexes search.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool

from kb.editing.frontmatter import article_text, layout, patch_article, write_atomically
from kb.content.files import file_revision as revision_of_bytes
from kb.content.loader import next_free_id, parse_article, split_front_matter
from kb.content.model import ARTICLE_TYPES, LANG_RE, SLUG_RE, Article, Problem, slugify
from kb.errors import BadRequest, NotFound
from kb.content.site import Site
from kb.storage import revisions as store
from kb.storage.db import Database

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the in-process lock still serialises saves
    fcntl = None  # type: ignore[assignment]

STATUSES = ("draft", "review", "pending", "published")
ACTIONS = ("draft", "review", "publish")
MAX_FIELD = 2_000
MAX_BODY = 1_000_000
OUTSIDE_AUTHOR = "(outside the editor)"
_FORM_FIELDS = ("lang", "slug", "title", "summary", "category", "tags", "type", "updated", "video",
                "body", "message", "base_revision", "base_pending", "translation_of")


def text_revision(text: str) -> str:
    """The revision hash of a text once written (the same as Article.revision of its file)."""
    return revision_of_bytes(text.encode("utf-8"))


@dataclass
class ArticleForm:
    """What the editor form posts; everything is text as typed."""

    lang: str = ""
    slug: str = ""
    title: str = ""
    summary: str = ""
    category: str = ""
    tags: str = ""
    type: str = "faq"
    updated: str = ""
    video: str = ""
    body: str = ""
    message: str = ""
    base_revision: str = ""
    base_pending: str = ""
    translation_of: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ArticleForm:
        values: dict[str, str] = {}
        for name in _FORM_FIELDS:
            raw = data.get(name, "")
            if not isinstance(raw, str):
                raise BadRequest(f"{name} must be text")
            limit = MAX_BODY if name == "body" else MAX_FIELD
            if len(raw) > limit:
                raise BadRequest(f"{name} is too long (at most {limit} characters)")
            values[name] = _newlines(raw)
            if name != "body":
                values[name] = values[name].strip()
        return cls(**values)

    @classmethod
    def from_text(cls, text: str, *, lang: str, slug: str) -> ArticleForm:
        """The form for a file, with text cleaned as `from_mapping` cleans what a browser posts, so
        a form posted back unchanged compares equal, field by field, to the file it came from."""
        meta, body = split_text(text)
        tags = meta.get("tags") or []
        updated = meta.get("updated", "")
        values = {
            "title": str(meta.get("title") or ""), "summary": str(meta.get("summary") or ""),
            "category": str(meta.get("category") or ""),
            "tags": ", ".join(str(t) for t in tags) if isinstance(tags, list) else str(tags),
            "type": str(meta.get("type") or "faq"),
            "updated": updated.isoformat() if isinstance(updated, date) else str(updated or ""),
            "video": str(meta.get("video") or ""),
        }
        return cls(lang=lang, slug=slug, body=_newlines(body),
                   **{name: _newlines(value).strip() for name, value in values.items()})

    def meta(self, article_id: object, status: object) -> dict[str, object]:
        """The front matter fields this form describes."""
        updated: object = self.updated
        try:
            updated = date.fromisoformat(self.updated)
        except ValueError:
            pass  # kept as typed: the check reports it like `kb check` does
        meta: dict[str, object] = {
            "id": article_id, "title": self.title, "summary": self.summary, "category": self.category,
            "tags": [t.strip().lower() for t in self.tags.split(",") if t.strip()],
            "type": self.type, "status": status, "updated": updated or None,
        }
        if self.type == "video" or self.video:
            meta["video"] = self.video
        return meta

    def text(self, article_id: int, status: str, base: str | None = None) -> str:
        """The whole file this form describes, front matter included.

        With `base` (the file the form was opened from, or the article a translation starts
        from), only what the form changes is rewritten: a field is changed when its value differs
        from what the same form fields give for `base`, so untouched fields keep their lines
        byte for byte (quotes, comments, wrapping), and an unchanged form gives back `base`.
        """
        meta = self.meta(article_id, status)
        if base is None:
            return article_text(meta, self.body)
        raw, _ = split_text(base)
        before = ArticleForm.from_text(base, lang=self.lang, slug=self.slug).meta(raw.get("id"), raw.get("status"))
        changes = {k: v for k, v in meta.items() if k not in before or not _same(before[k], v)}
        removed = [k for k in before if k not in meta]
        return patch_article(base, changes, removed, self.body)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _same(a: object, b: object) -> bool:
    """Equal and of the same type all the way down (1 is not True, '1' is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def split_text(text: str) -> tuple[dict[str, Any], str]:
    """(front matter as a mapping, body) of an article file; ({}, text) when it has none."""
    parts = layout(text)
    if parts is None:
        return {}, text
    try:
        meta = yaml.safe_load(parts.front)
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), parts.body


@dataclass(frozen=True)
class Checked:
    """A form turned into file text, with every problem `kb check` would report for it."""

    text: str
    article: Article | None  # None when the text cannot be served (fatal problems)
    problems: tuple[tuple[int, str], ...]
    html: str = ""
    plain: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Outcome:
    """What a save did: 'saved', 'invalid' (problems listed) or 'conflict' (diff shown)."""

    kind: str
    lang: str = ""
    slug: str = ""
    checked: Checked | None = None
    diff: tuple[str, ...] = ()
    current_revision: str = ""
    message: str = ""


@dataclass(frozen=True)
class Listed:
    article: Article
    status: str
    pending: store.PendingRow | None
    last_change: store.RevisionRow | None
    translations: tuple[tuple[str, Article | None, bool], ...]  # (lang, article or missing, outdated)
    outdated: bool


@dataclass
class ListFilter:
    lang: str = ""
    category: str = ""
    status: str = ""
    type: str = ""
    q: str = ""

    def check(self, site: Site) -> ListFilter:
        if self.lang and not LANG_RE.match(self.lang):
            raise BadRequest("lang must be a two-letter code")
        if self.category and self.category not in site.content.categories:
            raise BadRequest(f"unknown category {self.category[:60]!r}")
        if self.status and self.status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
        if self.type and self.type not in ARTICLE_TYPES:
            raise BadRequest(f"type must be one of {', '.join(ARTICLE_TYPES)}")
        self.q = self.q[:200]
        return self


def status_of(article: Article, pending: store.PendingRow | None) -> str:
    if pending is not None and pending.review:
        return "review"
    if article.published:
        return "pending" if pending is not None and pending.text is not None else "published"
    return "draft"


def pending_stamp(pending: store.PendingRow | None) -> str:
    return "" if pending is None else revision_of_bytes(
        f"{pending.updated_at}|{pending.review}|{pending.text}".encode())


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> tuple[str, ...]:
    return tuple(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""))


class FileChanged(Exception):
    def __init__(self, current: str | None) -> None:
        super().__init__("the file changed on disk")
        self.current = current


@dataclass
class Editor:
    """The editing service: kept in Services.extra["editor"]."""

    site: Site
    db: Database
    lock_file: Path
    default_lang: str = "en"
    _thread_lock: threading.Lock = field(default_factory=threading.Lock)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def root(self) -> Path:
        return self.site.content_dir

    # --- reading --------------------------------------------------------------------------

    def article(self, lang: str, slug: str) -> Article:
        """Any article, drafts included; odd languages and slugs are simply not found."""
        if not LANG_RE.match(lang) or not SLUG_RE.match(slug):
            raise NotFound("article not found")
        return self.site.article(lang, slug, drafts=True)

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

    # --- checking and previewing ----------------------------------------------------------

    def check(self, form: ArticleForm, *, existing: Article | None = None, status: str = "draft",
              article_id: int | None = None, render: bool = True) -> Checked:
        """Every problem `kb check` would report for this form's file, plus duplicates."""
        problems: list[tuple[int, str]] = []
        fatal = False  # problems that leave no safe file name to write to
        categories = self.site.content.categories
        if existing is not None:
            relative, lang, slug, article_id = existing.path, existing.lang, existing.slug, existing.id
        else:
            lang, slug = form.lang, form.slug or slugify(form.title)
            if not LANG_RE.match(lang):
                problems.append((1, "the language must be a two-letter code such as en"))
                lang, fatal = self.default_lang, True
            if not SLUG_RE.match(slug):
                problems.append((1, "the slug must be lowercase letters, digits and '-' (at most 100)"))
                slug, fatal = "new-article", True
            folder = form.category if form.category in categories else "new"
            relative = Path(lang) / folder / f"{slug}.md"
            if article_id is None:
                article_id = self._translation_id(form, lang) or self._next_id_guess()
            if (lang, slug) in self.site.content.articles:
                problems.append((1, f"an article with the slug {slug!r} already exists in {lang!r}"))
                fatal = True
        text = form.text(article_id, status, self._base_text(form, existing))
        found: list[Problem] = []
        article = parse_article(self.root, relative, text.encode("utf-8"), categories, found)
        problems.extend((p.line, p.message) for p in found)
        for other in self.site.content.articles.values():
            if other.lang == lang and other.id == article_id and other.slug != slug:
                problems.append((2, f"the id {article_id} is already used in {lang!r} by {other.slug!r}"))
                fatal = True
        if fatal:
            article = None
        html = plain = ""
        if render:
            target = article or self._stub(relative, lang, slug, text)
            rendered = self.site.render_source(text, target)
            problems.extend(rendered.problems)
            html, plain = rendered.html, rendered.text
        return Checked(text=text, article=article, problems=tuple(sorted(set(problems))), html=html, plain=plain)

    def _translation_id(self, form: ArticleForm, lang: str) -> int | None:
        if not form.translation_of:
            return None
        try:
            wanted = int(form.translation_of)
        except ValueError:
            raise BadRequest("translation_of must be an article id") from None
        if not any(a.id == wanted for a in self.site.content.articles.values()):
            raise BadRequest(f"no article has the id {wanted}")
        return wanted

    def _base_text(self, form: ArticleForm, existing: Article | None) -> str | None:
        """The file a form's text is patched from: the article's own file, or for a new
        translation the article it translates (its default-language version when there is one),
        so the copied front matter keeps its formatting too."""
        if existing is not None:
            return existing.source
        if not form.translation_of:
            return None
        sources = sorted((a for a in self.site.content.articles.values() if str(a.id) == form.translation_of),
                         key=lambda a: (a.lang != self.default_lang, a.lang))
        return sources[0].source if sources else None

    def _next_id_guess(self) -> int:
        return max((a.id for a in self.site.content.articles.values()), default=0) + 1

    @staticmethod
    def _stub(relative: Path, lang: str, slug: str, text: str) -> Article:
        return Article(id=0, lang=lang, slug=slug, title="", summary="", category="", tags=(), type="faq",
                       status="draft", updated=date.min, video=None, path=relative, source=text, revision="")

    def preview(self, form: ArticleForm, existing: Article | None = None) -> Checked:
        return self.check(form, existing=existing)

    # --- writing --------------------------------------------------------------------------

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """One writer at a time: threads of this process, and other processes (flock)."""
        with self._thread_lock:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            with self.lock_file.open("a") as handle:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    if fcntl is not None:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _replace_file(self, relative: Path, text: str | None, expected: str | None) -> str | None:
        """Write (or delete, text None) the file if its revision is `expected` (None: absent).

        Returns the text that was on disk before; raises FileChanged with the current text.
        """
        path = self._path(relative)
        with self._file_lock():
            try:
                data: bytes | None = path.read_bytes()
            except FileNotFoundError:
                data = None
            current = revision_of_bytes(data) if data is not None else None
            before = data.decode("utf-8", errors="replace") if data is not None else None
            if current != expected:
                raise FileChanged(before)
            if text is None:
                path.unlink()
            else:
                write_atomically(path, text)
            return before

    def _path(self, relative: Path | str) -> Path:
        """The file of a relative article path, refusing anything that is not lang/.../slug.md."""
        pure = PurePosixPath(str(relative).replace("\\", "/"))
        parts = pure.parts
        if (len(parts) < 2 or pure.is_absolute() or not LANG_RE.match(parts[0])
                or any(p.startswith(".") for p in parts) or pure.suffix != ".md"
                or not SLUG_RE.match(pure.stem)):
            raise BadRequest("not an article path")
        return self.root.joinpath(*parts)

    async def _reload(self) -> None:
        await run_in_threadpool(self.site.load)

    def _revision(self, article_id: int, lang: str, slug: str, relative: Path | str, text: str, author: str,
                  message: str, action: str) -> store.NewRevision:
        return store.NewRevision(article_id=article_id, lang=lang, slug=slug, path=PurePosixPath(
            str(relative)).as_posix(), revision=text_revision(text), author=author, message=message[:500],
            action=action, text=text)

    async def _catch_up(self, article: Article, on_disk: str | None) -> list[store.NewRevision]:
        """A revision for the file as it was on disk, when history does not have it yet."""
        if on_disk is None:
            return []
        latest = await store.latest_revision(self.db, article.lang, article.id, file_only=True)
        if latest is not None and latest.revision == text_revision(on_disk):
            return []
        return [self._revision(article.id, article.lang, article.slug, article.path, on_disk, OUTSIDE_AUTHOR,
                               "", "external")]

    def _conflict(self, exc: FileChanged, mine: str, checked: Checked | None = None) -> Outcome:
        if exc.current is None:
            return Outcome("conflict", checked=checked, message="deleted",
                           diff=unified_diff("", mine, "on disk (deleted)", "your version"))
        return Outcome("conflict", checked=checked, current_revision=text_revision(exc.current),
                       diff=unified_diff(exc.current, mine, "on disk now", "your version"), message="changed")

    async def create(self, form: ArticleForm, action: str, author: str) -> Outcome:
        if action not in ACTIONS:
            raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
        status = "published" if action == "publish" else "draft"
        async with self._lock:
            lang, slug = form.lang, form.slug or slugify(form.title)
            form = replace(form, slug=slug)
            translation = self._translation_id(form, lang)
            article_id = translation if translation is not None else int(
                await run_in_threadpool(next_free_id, self.root))
            checked = self.check(form, status=status, article_id=article_id)
            if not self._allowed(checked, action):
                return Outcome("invalid", lang, slug, checked)
            assert checked.article is not None
            relative = checked.article.path
            if any(a.lang == lang and a.slug == slug for a in self.site.content.articles.values()):
                return Outcome("invalid", lang, slug, checked)
            try:
                await run_in_threadpool(self._replace_file, relative, checked.text, None)
            except FileChanged as exc:
                return self._conflict(exc, checked.text, checked)
            revisions = [self._revision(article_id, lang, slug, relative, checked.text, author, form.message,
                                        "publish" if action == "publish" else "create")]
            pending = self._review_row(lang, article_id, slug, checked.text, author, form.message) \
                if action == "review" else None
            await store.record(self.db, revisions, pending=pending)
            await self._reload()
        return Outcome("saved", lang, slug, checked)

    @staticmethod
    def _allowed(checked: Checked, action: str) -> bool:
        """Drafts may be saved with warnings (a broken link); publishing needs no problem at all."""
        return checked.article is not None and (action != "publish" or checked.ok)

    @staticmethod
    def _review_row(lang: str, article_id: int, slug: str, text: str, author: str, message: str,
                    pending_text: str | None = None) -> store.PendingRow:
        return store.PendingRow(lang=lang, article_id=article_id, slug=slug, text=pending_text,
                                base_revision=text_revision(text), review=True, author=author, message=message,
                                updated_at="")

    async def save(self, lang: str, slug: str, form: ArticleForm, action: str, author: str) -> Outcome:
        """Save draft / submit for review / publish an existing article, refusing stale forms."""
        if action not in ACTIONS:
            raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
        async with self._lock:
            article = self.article(lang, slug)
            pending = await store.pending_edit(self.db, lang, article.id)
            keep_live = article.published and action != "publish"
            status = "published" if action == "publish" or keep_live else "draft"
            checked = self.check(form, existing=article, status=status)
            if not self._allowed(checked, action):
                return Outcome("invalid", lang, slug, checked)
            if form.base_pending != pending_stamp(pending) and form.base_revision == article.revision:
                mine = pending.text if pending is not None and pending.text is not None else article.source
                return Outcome("conflict", lang, slug, checked, message="pending",
                               diff=unified_diff(mine, checked.text, "saved draft now", "your version"),
                               current_revision=article.revision)
            if keep_live:
                return await self._save_pending(article, form, checked, action, author)
            try:
                on_disk = await run_in_threadpool(self._replace_file, article.path, checked.text,
                                                  form.base_revision)
            except FileChanged as exc:
                return replace(self._conflict(exc, checked.text, checked), lang=lang, slug=slug)
            revisions = await self._catch_up(article, on_disk)
            revisions.append(self._revision(article.id, lang, slug, article.path, checked.text, author,
                                            form.message, "publish" if action == "publish" else "save"))
            review = self._review_row(lang, article.id, slug, checked.text, author, form.message) \
                if action == "review" else None
            await store.record(self.db, revisions, pending=review, clear_pending=(lang, article.id))
            await self._reload()
        return Outcome("saved", lang, slug, checked)

    async def _save_pending(self, article: Article, form: ArticleForm, checked: Checked, action: str,
                            author: str) -> Outcome:
        """A published article's draft goes to SQLite; the live file stays as it is."""
        current = await run_in_threadpool(self._read, article.path)
        if current is None or text_revision(current) != form.base_revision:
            return replace(self._conflict(FileChanged(current), checked.text, checked),
                           lang=article.lang, slug=article.slug)
        key = (article.lang, article.id)
        revisions = await self._catch_up(article, current)
        if checked.text == current and action == "draft":  # back to the live text: nothing pending
            await store.record(self.db, revisions, clear_pending=key)
            return Outcome("saved", article.lang, article.slug, checked)
        revisions.append(self._revision(article.id, article.lang, article.slug, article.path, checked.text, author,
                                        form.message, action))
        pending = store.PendingRow(lang=article.lang, article_id=article.id, slug=article.slug, text=checked.text,
                                   base_revision=article.revision, review=action == "review", author=author,
                                   message=form.message, updated_at="")
        await store.record(self.db, revisions, pending=pending)
        return Outcome("saved", article.lang, article.slug, checked)

    def _read(self, relative: Path) -> str | None:
        try:
            return self._path(relative).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    async def discard_pending(self, lang: str, slug: str, author: str) -> None:
        article = self.article(lang, slug)
        await store.record(self.db, [], clear_pending=(lang, article.id))

    async def unpublish(self, lang: str, slug: str, base_revision: str, author: str) -> Outcome:
        async with self._lock:
            article = self.article(lang, slug)
            text = set_status(article.source, "draft")
            try:
                on_disk = await run_in_threadpool(self._replace_file, article.path, text, base_revision)
            except FileChanged as exc:
                return replace(self._conflict(exc, text), lang=lang, slug=slug)
            revisions = await self._catch_up(article, on_disk)
            revisions.append(self._revision(article.id, lang, slug, article.path, text, author, "", "unpublish"))
            await store.record(self.db, revisions)
            await self._reload()
        return Outcome("saved", lang, slug)

    async def delete(self, lang: str, slug: str, base_revision: str, author: str) -> Outcome:
        """Remove the file; its full text stays in history, from where it can be restored."""
        async with self._lock:
            article = self.article(lang, slug)
            try:
                on_disk = await run_in_threadpool(self._replace_file, article.path, None, base_revision)
            except FileChanged as exc:
                return replace(self._conflict(exc, article.source), lang=lang, slug=slug)
            assert on_disk is not None
            revisions = await self._catch_up(article, on_disk)
            revisions.append(self._revision(article.id, lang, slug, article.path, on_disk, author, "", "delete"))
            await store.record(self.db, revisions, clear_pending=(lang, article.id))
            await self._reload()
        return Outcome("saved", lang, slug)

    # --- history --------------------------------------------------------------------------

    async def history(self, lang: str, article_id: int) -> tuple[Article | None, list[store.RevisionRow]]:
        """The article (None when deleted) and its revisions, newest first; the file as it is on
        disk is recorded first when history does not know it (a change made outside the editor)."""
        article = next((a for a in self.site.content.articles.values()
                        if a.lang == lang and a.id == article_id), None)
        if article is not None:
            extra = await self._catch_up(article, article.source)
            if extra:
                await store.record(self.db, extra)
        revisions = await store.revisions_of(self.db, lang, article_id)
        if article is None and not revisions:
            raise NotFound("article not found")
        return article, revisions

    async def revision(self, lang: str, article_id: int, revision_id: int) -> store.RevisionRow:
        found = await store.revision(self.db, revision_id)
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
        async with self._lock:
            chosen = await self.revision(lang, article_id, revision_id)
            article = next((a for a in self.site.content.articles.values()
                            if a.lang == lang and a.id == article_id), None)
            relative = article.path if article is not None else Path(chosen.path)
            slug = article.slug if article is not None else chosen.slug
            found: list[Problem] = []
            parsed = parse_article(self.root, relative, chosen.text.encode("utf-8"), self.site.content.categories,
                                   found)
            if parsed is None:
                raise BadRequest("this revision cannot be restored: " + "; ".join(p.message for p in found))
            if article is None and any(a.lang == lang and a.slug == slug for a in self.site.content.articles.values()):
                raise BadRequest(f"another article now uses the slug {slug!r} in {lang!r}")
            expected = base_revision if article is not None else None
            try:
                on_disk = await run_in_threadpool(self._replace_file, relative, chosen.text, expected)
            except FileChanged as exc:
                return replace(self._conflict(exc, chosen.text), lang=lang, slug=slug)
            revisions = await self._catch_up(article, on_disk) if article is not None else []
            revisions.append(self._revision(article_id, lang, slug, relative, chosen.text, author,
                                            f"restored revision {chosen.id}", "restore"))
            await store.record(self.db, revisions, clear_pending=(lang, article_id))
            await self._reload()
        return Outcome("saved", lang, slug)


def set_status(text: str, status: str) -> str:
    """Change only the status line of the front matter, keeping the rest of the file as it is."""
    return patch_article(text, {"status": status})
