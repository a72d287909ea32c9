"""The content tree as a clone of a git remote (`KB_CONTENT_REMOTE`), for several nodes.

Each node's content folder is a clone. A save of the web editor is a commit pushed to the remote
(`ContentRemote.write`): a push the remote rejects because it moved is fetched, rebased and tried
again; a rebase that conflicts (someone changed the same file) is aborted, the clone is reset to
the remote and the writer gets `FileChanged` with the remote's text, exactly as when the file
changed on disk. A 2xx of the editor therefore means "on the remote". Nodes follow the remote
(`RemoteFollower`): a fetch every `KB_CONTENT_POLL_SECONDS` and whenever a `ContentNotifier`
says another node pushed; a fast-forward that changed files calls the same reload as the tree
watcher (the Site reload, which re-indexes search).

Debian's `git` command line does the work (run in threads); every operation that moves the
clone's tree holds one lock (`.git/kb-sync.lock`), across threads and processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from kb.content.files import FileChanged, exclusive_lock, replace_if_unchanged
from kb.content.watch import changed_files, stop_task
from kb.errors import ConfigError, KBError

log = logging.getLogger("kb.remote")

T = TypeVar("T")

PUSH_ATTEMPTS = 5
COMMITTER = ("kb", "kb@nodes.kb.invalid")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_COMMITTER_NAME": COMMITTER[0],
            "GIT_COMMITTER_EMAIL": COMMITTER[1], "GIT_AUTHOR_NAME": COMMITTER[0], "GIT_AUTHOR_EMAIL": COMMITTER[1]}


class RemoteUnavailable(KBError):
    """The remote could not be reached (or git failed): nothing was saved, try again later."""

    status = 503


class GitFailed(Exception):
    def __init__(self, args: tuple[str, ...], result: subprocess.CompletedProcess[str]) -> None:
        self.stderr = (result.stderr or result.stdout).strip()
        super().__init__(f"git {' '.join(args)}: {self.stderr or f'exit status {result.returncode}'}")


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `git -C root args`, its output as text; GitFailed when it fails and `check`."""
    env = {**os.environ, **_GIT_ENV}
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env,
                                timeout=120, check=False)
    except FileNotFoundError:
        raise ConfigError("KB_CONTENT_REMOTE needs the git command line (Debian: apt-get install git)") from None
    except subprocess.TimeoutExpired:
        raise RemoteUnavailable("git did not answer within 120 s") from None
    if check and result.returncode != 0:
        raise GitFailed(args, result)
    return result


def author_of(account: str) -> str:
    """A commit author for an editor's account name (accounts have no e-mail address)."""
    name = account.strip() or "kb"
    return f"{name} <{name.replace(' ', '.')}@users.kb.invalid>"


def _same_remote(url: str, wanted: str, base: Path) -> bool:
    """Two spellings of one remote: equal URLs, or one local folder reached by either path."""
    if url.rstrip("/") == wanted.rstrip("/"):
        return True
    paths = []
    for value in (url, wanted):
        value = value.removeprefix("file://")
        if "://" in value or (":" in value and not value.startswith(("/", "."))):
            return False  # a network URL that is not spelled the same
        paths.append((base / value).resolve() if not Path(value).is_absolute() else Path(value).resolve())
    return paths[0] == paths[1]


@dataclass
class ContentRemote:
    """The clone at `root` of `url`; `branch` is known once `prepare` ran."""

    root: Path
    url: str
    branch: str = ""
    _lock: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.root.absolute()
        self._lock = self.root / ".git" / "kb-sync.lock"

    # --- start -----------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Clone into an empty or missing folder, or bring an existing clone up to the remote.

        Refuses (ConfigError) a folder that is not a clone, a clone of another repository, and a
        clone with uncommitted changes to tracked files; commits of the clone that the remote does
        not have are rebased onto it and pushed (a node that died between commit and push).
        """
        root = self.root
        if not root.exists() or (root.is_dir() and not any(root.iterdir())):
            root.parent.mkdir(parents=True, exist_ok=True)
            try:
                git(Path.cwd(), "clone", "--quiet", "--", self.url, str(root))  # a relative URL: from here
            except GitFailed as exc:
                raise ConfigError(f"KB_CONTENT_REMOTE: cannot clone {self.url} into {root}: {exc.stderr}") from None
            self._read_branch()
            log.info("cloned %s into %s", self.url, root)
            return
        if not (root / ".git").is_dir():
            raise ConfigError(f"KB_CONTENT_DIR {root} holds files but is not a git clone of KB_CONTENT_REMOTE "
                              f"{self.url}: empty it (kb clones the remote into it) or push its files to the "
                              "remote first")
        origin = git(root, "remote", "get-url", "origin", check=False).stdout.strip()
        if not origin or not _same_remote(origin, self.url, Path.cwd()):
            raise ConfigError(f"KB_CONTENT_DIR {root} is a clone of {origin or 'no remote'}, not of "
                              f"KB_CONTENT_REMOTE {self.url}: point KB_CONTENT_DIR to another folder")
        self._read_branch()
        changed = [line[3:] for line in git(root, "status", "--porcelain", "--untracked-files=no").stdout.splitlines()]
        if changed:
            raise ConfigError(f"KB_CONTENT_DIR {root} has uncommitted changes that following KB_CONTENT_REMOTE "
                              f"would lose ({', '.join(changed[:5])}{', ...' if len(changed) > 5 else ''}): "
                              "commit and push them, or discard them")
        try:
            with exclusive_lock(self._lock):
                self._catch_up(push_own=True)
        except GitFailed as exc:
            raise ConfigError(f"KB_CONTENT_DIR {root} cannot follow KB_CONTENT_REMOTE {self.url}: {exc.stderr}") \
                from None

    def _read_branch(self) -> None:
        head = git(self.root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
        if not head:
            raise ConfigError(f"KB_CONTENT_DIR {self.root} is not on a branch (detached HEAD): check out the "
                              "remote's branch")
        self.branch = head

    # --- following -------------------------------------------------------------------------------

    @property
    def _upstream(self) -> str:
        return f"refs/remotes/origin/{self.branch}"

    def _rev(self, ref: str) -> str:
        return git(self.root, "rev-parse", "--verify", "--quiet", ref, check=False).stdout.strip()

    def _fetch(self) -> bool:
        """Fetch the branch; False when the remote has no such branch yet (an empty remote)."""
        result = git(self.root, "fetch", "--quiet", "--prune", "origin", check=False)
        if result.returncode != 0:
            raise GitFailed(("fetch", "origin"), result)
        return bool(self._rev(self._upstream))

    def _catch_up(self, *, push_own: bool = False) -> bool:
        """Fetch and fast-forward (the lock held). Returns whether HEAD moved."""
        if not self._fetch():
            return False
        before, upstream = self._rev("HEAD"), self._rev(self._upstream)
        if before == upstream:
            return False
        if not before or git(self.root, "merge-base", "--is-ancestor", "HEAD", upstream, check=False).returncode == 0:
            git(self.root, "merge", "--ff-only", "--quiet", upstream)
            return True
        if not push_own:
            # Only a node that died between commit and push has commits of its own: `prepare` pushes them.
            log.warning("%s has commits the remote does not have; they are pushed at the next start", self.root)
            return False
        if git(self.root, "rebase", "--quiet", upstream, check=False).returncode != 0:
            git(self.root, "rebase", "--abort", check=False)
            raise GitFailed(("rebase", upstream), subprocess.CompletedProcess(
                [], 1, "", "its own commits conflict with the remote's: resolve them by hand"))
        self._push()
        return True

    def sync(self) -> list[str] | None:
        """Fetch and fast-forward: the paths of the files that changed, None when nothing moved."""
        with exclusive_lock(self._lock):
            before = self._rev("HEAD")
            if not self._catch_up():
                return None
            listing = ("diff", "--name-only", "-z", before, "HEAD") if before else ("ls-files", "-z")
            names = git(self.root, *listing).stdout.split("\0")
            return [str(self.root / name) for name in names if name]

    # --- writing ---------------------------------------------------------------------------------

    def _push(self) -> bool:
        """Push HEAD; False when the remote moved (rejected), GitFailed for anything else."""
        result = git(self.root, "push", "--porcelain", "origin", f"HEAD:refs/heads/{self.branch}", check=False)
        if result.returncode == 0:
            return True
        output = result.stdout + result.stderr
        if "[rejected]" in output or "non-fast-forward" in output or "fetch first" in output:
            return False
        raise GitFailed(("push",), result)

    def write(self, path: Path, text: str | None, expected: str | None, editor_lock: Path, *, author: str,
              message: str) -> str | None:
        """replace_if_unchanged, then commit and push; FileChanged also when the remote's file differs.

        Returns the text that was on disk before.
        """
        return self.write_with(path, lambda: replace_if_unchanged(path, text, expected, editor_lock),
                               author=author, message=message, deleting=text is None)

    def write_with(self, path: Path, write: Callable[[], T], *, author: str, message: str,
                   deleting: bool = False) -> T:
        """Run `write()` (any writer of `path` in the clone: the editor, synonyms.yaml's), then
        commit `path` and push it, rebasing when the remote moved.

        Nothing stays committed that the remote lacks: a conflicting rebase resets the clone to the
        remote and raises FileChanged with the remote's text; a failed push resets it and raises
        RemoteUnavailable. Returns what `write()` returned.
        """
        relative = path.absolute().relative_to(self.root).as_posix()
        with exclusive_lock(self._lock):
            result = write()
            try:
                git(self.root, "add", "--all", "--", relative)
                if git(self.root, "diff", "--cached", "--quiet", check=False).returncode == 0:
                    return result  # the same text again: nothing to commit
                verb = "Delete" if deleting else "Update"
                git(self.root, "commit", "--quiet", "--no-verify", "--author", author, "-m",
                    message.strip() or f"{verb} {relative}")
                self._push_rebasing(path)
            except GitFailed as exc:
                self._reset()
                raise RemoteUnavailable(f"the content remote refused the save, nothing was saved: {exc.stderr}") \
                    from None
            except RemoteUnavailable:
                self._reset()
                raise
            return result

    def _push_rebasing(self, path: Path) -> None:
        for _ in range(PUSH_ATTEMPTS):
            if self._push():
                return
            self._fetch()
            if git(self.root, "rebase", "--quiet", self._upstream, check=False).returncode != 0:
                git(self.root, "rebase", "--abort", check=False)
                self._reset()
                try:
                    current: str | None = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    current = None
                raise FileChanged(current)
        raise GitFailed(("push",), subprocess.CompletedProcess(
            [], 1, "", f"the remote moved {PUSH_ATTEMPTS} times in a row"))

    def _reset(self) -> None:
        """Back to the remote's branch as last fetched (drops the commit that was not pushed)."""
        if self._rev(self._upstream):
            git(self.root, "reset", "--quiet", "--hard", self._upstream, check=False)
        else:  # an empty remote: nothing was ever pushed
            git(self.root, "reset", "--quiet", "--hard", check=False)

    def head(self) -> str:
        return self._rev("HEAD")


class ContentNotifier(Protocol):
    """Tells the other nodes that the remote moved, and wakes this node when they say so."""

    async def announce(self, head: str) -> None: ...

    async def subscribe(self, wake: Callable[[], None]) -> None: ...

    async def close(self) -> None: ...


class LocalNotifier:
    """In-process only: nodes in other processes find the change at their next poll."""

    def __init__(self) -> None:
        self._wakers: list[Callable[[], None]] = []

    async def announce(self, head: str) -> None:
        for wake in self._wakers:
            wake()

    async def subscribe(self, wake: Callable[[], None]) -> None:
        self._wakers.append(wake)

    async def close(self) -> None:
        self._wakers.clear()


class Notifications(Protocol):
    """What DatabaseNotifier needs of kb.storage.db.Database."""

    async def notify(self, channel: str, payload: str = "") -> None: ...

    def listen(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]: ...


class DatabaseNotifier:
    """Through the database's notifications: PostgreSQL's LISTEN/NOTIFY reaches every node (on
    SQLite they stay in the process, and the other nodes rely on their poll)."""

    channel = "content"

    def __init__(self, db: Notifications) -> None:
        self.db = db
        self._task: asyncio.Task[None] | None = None

    async def announce(self, head: str) -> None:
        await self.db.notify(self.channel, head)

    async def subscribe(self, wake: Callable[[], None]) -> None:
        subscribed = asyncio.Event()
        self._task = asyncio.create_task(self._listen(wake, subscribed), name="kb-content-notes")
        await subscribed.wait()  # listening before the node says it started: no push missed

    async def _listen(self, wake: Callable[[], None], subscribed: asyncio.Event) -> None:
        while True:
            try:
                async with self.db.listen(self.channel) as notes:
                    subscribed.set()
                    wake()  # anything pushed while (re)subscribing
                    async for _ in notes:
                        wake()
            except Exception:  # a lost connection: listen again; the poll covers the gap
                log.exception("content notifications stopped; listening again in 1 s")
                subscribed.set()
                await asyncio.sleep(1)

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None


class RemoteFollower:
    """Fetches every `interval` seconds and when woken; on news calls `on_change` (in a thread)
    with the changed articles (kb.content.watch.changed_files: None for every file)."""

    def __init__(self, remote: ContentRemote, interval: float, on_change: Callable[[frozenset[Path] | None], object],
                 notifier: ContentNotifier | None = None) -> None:
        self.remote = remote
        self.interval = interval
        self.on_change = on_change
        self.notifier: ContentNotifier = notifier or LocalNotifier()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.notifier.subscribe(self.wake)
        self._task = asyncio.create_task(self._run(), name="kb-content-remote")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        await self.notifier.close()

    async def pushed(self) -> None:
        """After a save reached the remote: tell the other nodes."""
        try:
            await self.notifier.announce(self.remote.head())
        except Exception:  # the poll still brings the change to the others
            log.exception("content notification failed")

    async def check(self) -> bool:
        """Fetch once; reload what the fast-forward changed, as the tree watcher would. Returns
        whether the tree moved."""
        moved = await asyncio.to_thread(self.remote.sync)
        if moved is None:
            return False
        await asyncio.to_thread(self.on_change, changed_files(self.remote.root, moved))
        return True

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.check()
            except Exception:  # an unreachable remote must not stop following it
                log.exception("content fetch from %s failed", self.remote.url)
