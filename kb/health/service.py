"""Health, the content health service: gathers the signals (the site's articles and renderings,
revisions, votes, policy versions), runs kb.health.rules, and records "mark reviewed".

Rendering is the only costly signal, so each article's Scan (its policy keys and link problems)
is kept per article revision and policy version; after a reload, an article is scanned again
only when one of its links now resolves differently. Everything else is a few grouped queries.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from kb.content.model import Article
from kb.content.site import Site
from kb.editing.workspace import Workspace, new_revision
from kb.errors import BadRequest
from kb.health.model import ArticleHealth, Filters, Report
from kb.health.rules import (
    INCORRECT_REPORTS,
    Scan,
    Signals,
    checked_at,
    compute,
    stamp_of,
    window_days,
)
from kb.render.markdown import RenderEnv
from kb.storage import health as store
from kb.storage import revisions
from kb.storage.db import Database

MAX_NOTE = 500
_LINK_PROBLEMS = ("link to a missing", "missing image", "reference link", "link definition")


@dataclasses.dataclass
class _Scanned:
    revision: str
    policy_version: str
    hrefs: tuple[str, ...]
    missing: tuple[bool, ...]  # which hrefs resolved to nothing when scanned
    scan: Scan


class Health:
    def __init__(self, site: Site, db: Database, *, default_lang: str, review_days: int,
                 workspace: Workspace | None = None) -> None:
        self.site = site
        self.db = db
        self.default_lang = default_lang
        self.review_days = review_days
        self.workspace = workspace  # None: read-only (the CLI)
        self._scanned: dict[tuple[str, str], _Scanned] = {}
        self._checked_content: object = None  # the ContentSet whose links were last checked
        self._first_seen: dict[tuple[tuple[str, str], str], str] = {}
        self._lock = asyncio.Lock()

    # --- scanning (sync, run in a thread) --------------------------------------------------

    def _scan(self, article: Article) -> _Scanned:
        hrefs: list[str] = []

        def resolve(href: str) -> str | None:
            hrefs.append(href)
            return self.site.resolve_link(article, href)

        env = RenderEnv(resolve=resolve, policy=self.site.policy, lang=article.lang, extra={"checking": True})
        rendered = self.site.renderer.render(article.source, env)
        broken = tuple(p for p in rendered.problems if p[1].startswith(_LINK_PROBLEMS))
        missing = tuple(self.site.resolve_link(article, h) is None for h in hrefs)
        return _Scanned(article.revision, self.site.policy_version, tuple(hrefs), missing,
                        Scan(frozenset(rendered.policy_keys), broken))

    def scans(self) -> dict[tuple[str, str], Scan]:
        """Every article's Scan, from the cache where it still holds."""
        content = self.site.content
        recheck = content is not self._checked_content  # a reload may have moved link targets
        version = self.site.policy_version
        found: dict[tuple[str, str], Scan] = {}
        for key, article in content.articles.items():
            entry = self._scanned.get(key)
            if (entry is None or entry.revision != article.revision or entry.policy_version != version
                    or (recheck and entry.missing != tuple(self.site.resolve_link(article, h) is None
                                                           for h in entry.hrefs))):
                entry = self._scanned[key] = self._scan(article)
            found[key] = entry.scan
        for gone in set(self._scanned) - set(content.articles):
            del self._scanned[gone]
        self._checked_content = content
        return found

    # --- the report ------------------------------------------------------------------------

    async def signals(self, now: datetime | None = None) -> Signals:
        now = now or datetime.now(UTC)
        articles = list(self.site.content.articles.values())
        scans = await asyncio.to_thread(self.scans)
        times = await store.article_times(self.db)
        previous_start, start, until = window_days(now)
        signals = Signals(now=now, default_lang=self.default_lang, review_days=self.review_days, times=times,
                          votes=await store.vote_windows(self.db, previous_start, start, until),
                          policy_changes=await store.policy_changes(self.db), scans=scans)
        signals.incorrect = await self._incorrect(articles, signals)
        signals.broken_since = self._broken_since(scans, now)
        return signals

    async def _incorrect(self, articles: list[Article], signals: Signals) -> dict[tuple[str, int], tuple[int, str]]:
        """Counted by day first (the daily aggregate), then exactly for the few articles that may
        have enough reports since they were last checked."""
        checked = {(a.lang, a.id): checked_at(a, signals.times.get((a.lang, a.id))) for a in articles}
        if not checked:
            return {}
        by_day: dict[tuple[str, int], int] = {}
        for lang, article_id, day, count in await store.incorrect_by_day(self.db, min(checked.values())[:10]):
            since = checked.get((lang, article_id))
            if since is not None and day >= since[:10]:
                by_day[(lang, article_id)] = by_day.get((lang, article_id), 0) + count
        exact: dict[tuple[str, int], tuple[int, str]] = {}
        for key, count in by_day.items():
            if count >= INCORRECT_REPORTS:
                found, first = await store.incorrect_since(self.db, key[0], key[1], checked[key])
                if first is not None:
                    exact[key] = (found, first)
        return exact

    def _broken_since(self, scans: dict[tuple[str, str], Scan], now: datetime) -> dict[tuple[str, str], str]:
        """When this process first saw each broken link (the tree keeps no date for a removal)."""
        seen: dict[tuple[tuple[str, str], str], str] = {}
        since: dict[tuple[str, str], str] = {}
        for key, scan in scans.items():
            for _, message in scan.broken_links:
                first = seen[(key, message)] = self._first_seen.get((key, message), stamp_of(now))
                since[key] = min(since.get(key, first), first)
        self._first_seen = seen
        return since

    async def report(self, filters: Filters | None = None, now: datetime | None = None) -> Report:
        filters = filters or Filters()
        async with self._lock:
            signals = await self.signals(now)
            found = compute(self.site.content.articles.values(), signals)
        rows = sorted((h for h in found.values() if filters.keep(h)),
                      key=lambda h: (-len(h.flags), h.article.title.casefold(), h.article.lang))
        rows = [await self._with_diff_link(row) for row in rows]
        return Report(found, rows)

    async def of(self, article: Article) -> ArticleHealth:
        report = await self.report()
        found = report.articles.get(article.key, ArticleHealth(article, ()))
        return await self._with_diff_link(found)

    async def _with_diff_link(self, row: ArticleHealth) -> ArticleHealth:
        """A translation behind links to the source's diff since the translation was last checked."""
        flags = list(row.flags)
        for index, flag in enumerate(flags):
            if flag.name != "translation_behind" or flag.link:
                continue
            source = self.site.by_id(row.article.id, self.default_lang)
            if source is None or source.lang != self.default_lang:
                continue
            times = await store.article_times_of(self.db, row.article.lang, row.article.id)
            since = checked_at(row.article, times)
            ids = await store.file_revisions(self.db, source.lang, source.id)
            before = [i for i, created in ids if created <= since]
            if before and ids and before[-1] != ids[-1][0]:
                link = f"/admin/history/{source.lang}/{source.id}/diff?a={before[-1]}&b={ids[-1][0]}"
            else:
                link = f"/admin/history/{source.lang}/{source.id}"
            flags[index] = dataclasses.replace(flag, link=link)
        return ArticleHealth(row.article, tuple(flags))

    # --- mark reviewed ---------------------------------------------------------------------

    async def mark_reviewed(self, article: Article, author: str, note: str = "") -> None:
        """Record that `author` checked the article as it is on disk: a revision 'reviewed' (in
        its history), after any change made outside the editor, so that change keeps its date."""
        if self.workspace is None:
            raise RuntimeError("Health was built read-only")
        if len(note) > MAX_NOTE:
            raise BadRequest(f"the note must be at most {MAX_NOTE} characters")
        workspace = self.workspace
        async with workspace.lock:
            on_disk = await workspace.read(article.path)
            if on_disk is None:
                raise BadRequest("the article's file is gone; reload the page")
            found = await workspace.catch_up(article, on_disk)
            found.append(new_revision(article.id, article.lang, article.slug, article.path, on_disk, author,
                                      note.strip(), "reviewed"))
            await revisions.record(self.db, found)
