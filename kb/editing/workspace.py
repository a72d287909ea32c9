"""The content folder as the web editor writes it: safe file writes, recorded in history.

Files are the source of truth. A write replaces an article's file atomically and only if the
file is still the one the editor opened (its revision travels in the form); otherwise the write
is refused with a diff (kb.content.files.replace_if_unchanged). Every version the editor writes
or sees becomes a revision, and after each write the Site reloads, which re-indexes search.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TypeVar

from kb.content.files import FileChanged, file_revision, replace_if_unchanged
from kb.content.model import LANG_RE, SLUG_RE, Article
from kb.content.remote import ContentRemote, RemoteFollower, author_of
from kb.content.site import Site
from kb.editing.checks import Checked
from kb.errors import BadRequest
from kb.storage import revisions as store
from kb.storage.db import Database

OUTSIDE_AUTHOR = "(outside the editor)"
T = TypeVar("T")


def text_revision(text: str) -> str:
    """The revision hash of a text once written (the same as Article.revision of its file)."""
    return file_revision(text.encode("utf-8"))


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> tuple[str, ...]:
    return tuple(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""))


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


def conflict(exc: FileChanged, mine: str, lang: str, slug: str, checked: Checked | None = None) -> Outcome:
    """The file is not the one the form was opened from: show how it differs from `mine`."""
    if exc.current is None:
        return Outcome("conflict", lang, slug, checked, message="deleted",
                       diff=unified_diff("", mine, "on disk (deleted)", "your version"))
    return Outcome("conflict", lang, slug, checked, current_revision=text_revision(exc.current),
                   diff=unified_diff(exc.current, mine, "on disk now", "your version"), message="changed")


@dataclass
class Workspace:
    """One editor write at a time in this process (`lock`), one across processes (`lock_file`)."""

    site: Site
    db: Database
    lock_file: Path
    follower: RemoteFollower | None = None  # KB_CONTENT_REMOTE: each write is a commit pushed there
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def root(self) -> Path:
        return self.site.content_dir

    def path(self, relative: Path | str) -> Path:
        """The file of a relative article path, refusing anything that is not lang/.../slug.md."""
        pure = PurePosixPath(str(relative).replace("\\", "/"))
        parts = pure.parts
        if (len(parts) < 2 or pure.is_absolute() or not LANG_RE.match(parts[0])
                or any(p.startswith(".") for p in parts) or pure.suffix != ".md"
                or not SLUG_RE.match(pure.stem)):
            raise BadRequest("not an article path")
        return self.root.joinpath(*parts)

    async def read(self, relative: Path) -> str | None:
        """The file's text now (None: absent)."""
        def read() -> str | None:
            try:
                return self.path(relative).read_text(encoding="utf-8")
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(read)

    async def replace(self, relative: Path, text: str | None, expected: str | None, *, author: str = "",
                      message: str = "") -> str | None:
        """Write (or delete, text None) the file if its revision is `expected` (None: absent).

        Returns the text that was on disk before; raises FileChanged with the current text. With a
        content remote the write is also a commit by `author` pushed there (FileChanged when the
        remote's file changed meanwhile; kb.content.remote.RemoteUnavailable when it cannot be
        reached), and the other nodes are told.
        """
        if self.follower is None:
            return await asyncio.to_thread(replace_if_unchanged, self.path(relative), text, expected, self.lock_file)
        remote: ContentRemote = self.follower.remote
        before = await asyncio.to_thread(remote.write, self.path(relative), text, expected, self.lock_file,
                                         author=author_of(author), message=message)
        await self.follower.pushed()
        return before

    async def committed(self, path: Path, write: Callable[[], T], *, author: str, message: str) -> T:
        """Run another writer of a content file (synonyms.yaml's, ...) in a thread: with a content
        remote, what it wrote is committed by `author` and pushed like an editor's save."""
        if self.follower is None:
            return await asyncio.to_thread(write)
        result = await asyncio.to_thread(self.follower.remote.write_with, path, write, author=author_of(author),
                                         message=message)
        await self.follower.pushed()
        return result

    async def reload(self) -> None:
        await asyncio.to_thread(self.site.load)

    async def catch_up(self, article: Article, on_disk: str | None) -> list[store.NewRevision]:
        """A revision for the file as it was on disk, when history does not have it yet."""
        if on_disk is None:
            return []
        latest = await store.latest_revision(self.db, article.lang, article.id, file_only=True)
        if latest is not None and latest.revision == text_revision(on_disk):
            return []
        return [new_revision(article.id, article.lang, article.slug, article.path, on_disk, OUTSIDE_AUTHOR,
                             "", "external")]


def new_revision(article_id: int, lang: str, slug: str, relative: Path | str, text: str, author: str,
                 message: str, action: str) -> store.NewRevision:
    return store.NewRevision(article_id=article_id, lang=lang, slug=slug, path=PurePosixPath(
        str(relative)).as_posix(), revision=text_revision(text), author=author, message=message[:500],
        action=action, text=text)
