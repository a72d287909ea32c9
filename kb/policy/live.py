"""Live policy data: watch policy.yaml or poll KB_POLICY_URL, accept or refuse each new version.

One asyncio task, started and stopped by the app's lifespan, checks the file every
`watch_seconds` (mtime and size first, then the content hash) or polls the URL every
`policy_poll_seconds` with If-None-Match. A new version is accepted only when it is valid and
no article still uses a key it removes; it is then stored (kb.storage.policy), swapped into the
site (whose renderings are cached by policy version, so pages change at once) and the articles
showing a changed key are announced to the site's listeners (search re-indexes them). A refused
version or an unreachable source is logged and the last good version keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
from datetime import date
from pathlib import Path

import httpx

from kb.config import Settings
from kb.content.model import display_path
from kb.policy.schema import POLICY_FILE, Policy, PolicyError, file_problems, parse_json, parse_yaml
from kb.content.site import Site
from kb.storage import policy as store
from kb.storage.db import Database

log = logging.getLogger("kb.policy")

HTTP_TIMEOUT = 10.0


class PolicyService:
    def __init__(self, settings: Settings, site: Site, db: Database) -> None:
        self.settings = settings
        self.site = site
        self.db = db
        self.url = settings.policy_url
        self.path: Path = settings.content_dir / POLICY_FILE
        self.last_error: str | None = None
        self._file_stamp: tuple[int, int] | None = None
        self._file_hash: str | None = None
        self._refused_with_content: str | None = None
        self._etag: str | None = None
        self._logged: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    @property
    def source(self) -> str:
        return self.url or POLICY_FILE

    @property
    def current(self) -> Policy | None:
        return self.site.policy if isinstance(self.site.policy, Policy) else None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt what the site loaded (or the last stored version), then start watching."""
        if self.url:
            self._client = httpx.AsyncClient(timeout=min(HTTP_TIMEOUT, self.settings.policy_poll_seconds * 4),
                                             follow_redirects=True, headers={"Accept": "application/json"})
        elif self.current is None or self.current.source != POLICY_FILE:
            await self.check_file()
        fallback = await store.latest(self.db, source=self.source)
        if fallback is not None and (self.url or self.current is None):
            try:
                stored = Policy.from_data(json.loads(fallback.document), source=fallback.source,
                                          accepted=_day(fallback.accepted_at))
            except (PolicyError, ValueError) as exc:  # a stored version the schema no longer accepts
                log.warning("stored policy version %s is no longer valid: %s", fallback.version, exc)
            else:
                if self.current is None or self.current.version != stored.version:
                    log.info("serving the last stored policy version %s from %s", stored.version, stored.source)
                    self.site.set_policy(stored, stored.changed_keys(self.current))
        if self.current is not None:
            await self._record(self.current, sorted(self.current.changed_keys(None)))
        if not self.url:
            self._remember_file()
        self._task = asyncio.create_task(self._run(), name="kb-policy-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

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
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if self._file_stamp is not None:
                self._report(f"{self.path} was removed; still serving {self._serving()}")
            self._file_stamp = None
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        retry = (self._refused_with_content is not None
                 and self._refused_with_content != self.site.content.revision)
        if stamp == self._file_stamp and not retry:
            return False
        self._file_stamp = stamp
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            self._report(f"cannot read {self.path}: {exc.strerror}; still serving {self._serving()}")
            return False
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._file_hash and not retry:
            return False
        self._file_hash = digest
        text = data.decode("utf-8", errors="replace")
        try:
            policy = parse_yaml(text, source=POLICY_FILE)
        except PolicyError as exc:
            problems = file_problems(self.settings.content_dir, text, exc)
            self._refuse(POLICY_FILE, "; ".join(str(p) for p in problems))
            return False
        return await self.accept(policy)

    async def poll_url(self) -> bool:
        """Ask the live service for a new version; True when a new version is served."""
        assert self._client is not None
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            response = await self._client.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            self._report(f"policy source {self.url} unreachable ({type(exc).__name__}: {exc}); "
                         f"still serving {self._serving()}")
            return False
        if response.status_code == 304:
            return False
        if response.status_code != 200:
            self._report(f"policy source {self.url} answered {response.status_code}; "
                         f"still serving {self._serving()}")
            return False
        try:
            policy = parse_json(response.content, source=self.url)
        except PolicyError as exc:
            self._refuse(self.url, str(exc))
            return False
        accepted = await self.accept(policy)
        if accepted or (self.current is not None and self.current.version == policy.version):
            self._etag = response.headers.get("etag")
        return accepted

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
                    policy = dataclasses.replace(policy, date=_day(first))
            removed = await asyncio.to_thread(self._removed_in_use, current, policy)
            if removed:
                self._refuse(policy.source, "; ".join(removed))
                return False
            changed = policy.changed_keys(current)
            change = self.site.set_policy(policy, changed)
            self._refused_with_content = None
            self.last_error = None
            self._logged = None
            await self._record(policy, sorted(changed))
            log.info("policy version %s accepted from %s: %d key(s) changed, %d article(s) affected",
                     policy.version, policy.source, len(changed), len(change.changed))
            return True

    def _removed_in_use(self, current: Policy | None, new: Policy) -> list[str]:
        """Keys that articles show today and the new version no longer has."""
        if current is None:
            return []
        problems = []
        for article in sorted(self.site.content.articles.values(), key=lambda a: a.path):
            for key in sorted(self.site.rendered(article).policy_keys):
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

    def _remember_file(self) -> None:
        with contextlib.suppress(OSError):
            stat = self.path.stat()
            self._file_stamp = (stat.st_mtime_ns, stat.st_size)
            self._file_hash = hashlib.sha256(self.path.read_bytes()).hexdigest()

    def _serving(self) -> str:
        current = self.current
        return f"version {current.version}" if current is not None else "no policy data"


def _day(timestamp: str) -> date:
    return date.fromisoformat(timestamp[:10])
