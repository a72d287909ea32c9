"""Live policy data: watch policy.yaml or poll KB_POLICY_URL, accept or refuse each new version.

One asyncio task, started and stopped by the app's lifespan, asks the file source every
`watch_seconds` or the HTTP source every `policy_poll_seconds` (kb.policy.sources) for a new
version. A new version is accepted only when it is valid and no article still uses a key it
removes; it is then stored (kb.storage.policy), set on the app's PolicyHolder (renderings are
cached by policy version, so pages change at once) and the articles showing a changed key are
announced to the site's listeners (search re-indexes them). A refused version or an unreachable
source is logged and the last good version keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Collection

from kb.config import Settings
from kb.content.model import display_path
from kb.content.site import Change, Site
from kb.policy.document import Policy, accepted_day
from kb.policy.holder import PolicyHolder, read_policy_file
from kb.policy.schema import PolicyError
from kb.policy.sources import POLICY_FILE, Fetched, FileSource, HttpSource
from kb.storage import policy as store
from kb.storage.db import Database

log = logging.getLogger("kb.policy")

HTTP_TIMEOUT = 10.0


class PolicyService:
    def __init__(self, settings: Settings, site: Site, db: Database, policy: PolicyHolder) -> None:
        self.settings = settings
        self.site = site
        self.db = db
        self.policy = policy  # this service is its only writer while the app runs
        self.url = settings.policy_url
        self.file = FileSource(settings.content_dir)
        self.http = HttpSource(self.url, min(HTTP_TIMEOUT, settings.policy_poll_seconds * 4)) if self.url else None
        self.last_error: str | None = None
        self._refused_with_content: str | None = None
        self._logged: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def source(self) -> str:
        return self.url or POLICY_FILE

    @property
    def current(self) -> Policy | None:
        return self.policy.current

    # --- lifecycle ------------------------------------------------------------------------

    def read_file(self) -> None:
        """At start-up, before the content is loaded and indexed: serve policy.yaml as it is,
        so the first renderings already show it (start() then adopts a stored version or the
        live source's)."""
        self.policy.set(read_policy_file(self.settings.content_dir))

    async def start(self) -> None:
        """Adopt what read_file() found (or the last stored version), then start watching."""
        if self.http is not None:
            self.http.open()
        elif self.current is None or self.current.source != POLICY_FILE:
            await self.check_file()
        fallback = await store.latest(self.db, source=self.source)
        if fallback is not None and (self.url or self.current is None):
            try:
                stored = Policy.from_stored(fallback.document, source=fallback.source,
                                            accepted_at=fallback.accepted_at)
            except (PolicyError, ValueError) as exc:  # a stored version the schema no longer accepts
                log.warning("stored policy version %s is no longer valid: %s", fallback.version, exc)
            else:
                if self.current is None or self.current.version != stored.version:
                    log.info("serving the last stored policy version %s from %s", stored.version, stored.source)
                    self.serve(stored, stored.changed_keys(self.current))
        if self.current is not None:
            await self._record(self.current, sorted(self.current.changed_keys(None)))
        if self.http is None:
            self.file.remember()
        self._task = asyncio.create_task(self._run(), name="kb-policy-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.http is not None:
            await self.http.close()

    async def _run(self) -> None:
        interval = self.settings.policy_poll_seconds if self.url else self.settings.watch_seconds
        while True:
            try:
                if self.url:
                    await self.poll_url()
                else:
                    await self.check_file()
            except Exception:  # the watcher must outlive any surprise; pages keep the last version
                log.exception("policy watcher failed; still serving %s", self._serving())
            await asyncio.sleep(interval)

    # --- sources --------------------------------------------------------------------------

    async def check_file(self) -> bool:
        """Accept policy.yaml if it changed and is valid; True when a new version is served."""
        # A version refused because articles used its removed keys is tried again once they changed.
        retry = (self._refused_with_content is not None
                 and self._refused_with_content != self.site.content.revision)
        return await self._take(self.file.fetch(again=retry))

    async def poll_url(self) -> bool:
        """Ask the live service for a new version; True when a new version is served."""
        assert self.http is not None
        found = await self.http.fetch()
        accepted = await self._take(found)
        if found is not None and found.policy is not None and (
                accepted or (self.current is not None and self.current.version == found.policy.version)):
            self.http.etag = found.etag  # only then: a refused version must be fetched again later
        return accepted

    async def _take(self, found: Fetched | None) -> bool:
        if found is None:
            return False
        if found.failed:
            self._report(f"{found.failed}; still serving {self._serving()}")
            return False
        if found.policy is None:
            self._refuse(found.source, found.refused)
            return False
        return await self.accept(found.policy)

    # --- accepting ------------------------------------------------------------------------

    async def accept(self, policy: Policy) -> bool:
        """Serve `policy` unless an article uses a key it removes; store it; announce changes."""
        async with self._lock:
            current = self.current
            if current is not None and current.version == policy.version:
                self._refused_with_content = None
                return False
            if "updated" not in policy.data:  # "as of" is then the day this version was first accepted
                first = await store.first_accepted(self.db, policy.version)
                if first:
                    policy = dataclasses.replace(policy, date=accepted_day(first))
            removed = await asyncio.to_thread(self._removed_in_use, current, policy)
            if removed:
                self._refuse(policy.source, "; ".join(removed))
                return False
            changed = policy.changed_keys(current)
            change = self.serve(policy, changed)
            self._refused_with_content = None
            self.last_error = None
            self._logged = None
            await self._record(policy, sorted(changed))
            log.info("policy version %s accepted from %s: %d key(s) changed, %d article(s) affected",
                     policy.version, policy.source, len(changed), len(change.changed))
            return True

    def serve(self, policy: Policy, changed_keys: Collection[str]) -> Change:
        """Serve `policy` now (accept() checks and stores it first) and announce the articles
        showing a changed key, found in the renderings of the version served until now."""
        change = Change(self.site.showing(changed_keys), frozenset())
        self.policy.set(policy)
        self.site.announce(change)
        return change

    def _removed_in_use(self, current: Policy | None, new: Policy) -> list[str]:
        """Keys that articles show today and the new version no longer has."""
        if current is None:
            return []
        problems = []
        for article in sorted(self.site.content.articles.values(), key=lambda a: a.path):
            for key in sorted(self.site.policy_keys(article)):
                if current.resolve(key) is not None and new.resolve(key) is None:
                    shown = display_path(self.settings.content_dir, article.path)
                    problems.append(f"{key}: removed, but {shown} still uses it")
        return problems

    async def _record(self, policy: Policy, changed: list[str]) -> None:
        try:
            await store.record(self.db, version=policy.version, source=policy.source,
                               document=policy.to_json(), changed_keys=changed)
        except Exception:  # serving matters more than history
            log.exception("could not store policy version %s", policy.version)

    def _refuse(self, source: str, reason: str) -> None:
        self._refused_with_content = self.site.content.revision
        message = f"policy version from {source} refused, still serving {self._serving()}: {reason}"
        self.last_error = message
        if message != self._logged:
            log.error("%s", message)
            self._logged = message

    def _report(self, message: str) -> None:
        self.last_error = message
        if message != self._logged:
            log.warning("%s", message)
            self._logged = message

    def _serving(self) -> str:
        current = self.current
        return f"version {current.version}" if current is not None else "no policy data"

