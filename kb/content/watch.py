"""Watch the content tree: edits made outside the web editor (git pull, a text editor) go live.

File notifications of the OS (inotify, through watchfiles) when they work: a change is seen
within tens of milliseconds and only the articles that changed are read again
(`on_change(paths)`). Polling is the fallback, and the choice where notifications do not
arrive (network mounts: set WATCHFILES_FORCE_POLLING) or cannot be had (a watch limit
reached): one stat per file per interval, then a reload that looks at every file
(`on_change(None)`). The reload runs in the watcher's thread, never in the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles._rust_notify import RustNotify

log = logging.getLogger("kb.watch")

Signature = frozenset[tuple[str, int, int]]
# Called with the changed .md files (relative to the root), or None for "look at everything".
OnChange = Callable[[frozenset[Path] | None], object]

NOTIFY_STEP_MS = 20  # a group of changes ends after this long without a new one
NOTIFY_DEBOUNCE_MS = 200  # and is handed over after this long at most (a long git checkout)
NOTIFY_TIMEOUT_MS = 1000  # how often the listening thread wakes up with nothing to report


def tree_signature(root: Path) -> Signature:
    """(path, mtime, size) of every file under root; changes whenever a file does."""
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):  # editors' temp files, our own atomic-write temps
                continue
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue
            entries.append((path, stat.st_mtime_ns, stat.st_size))
    return frozenset(entries)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task of ours and wait until it has ended."""
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass


def changed_files(root: Path, paths: Iterable[str]) -> frozenset[Path] | None:
    """What a reload must look at, from the paths notifications named: the .md files
    (relative), or None when something else changed (categories.yaml, a folder moved in or
    out): then every file. Hidden files and folders (.git, temp files) are left out."""
    found: set[Path] = set()
    everything = False
    for name in paths:
        try:
            relative = Path(os.path.relpath(name, root))
        except ValueError:
            continue
        if relative.parts[:1] == ("..",) or any(part.startswith(".") for part in relative.parts):
            continue
        if relative.suffix == ".md" and not (root / relative).is_dir():
            found.add(relative)
        else:
            everything = True
    return None if everything else frozenset(found)


class TreeWatcher:
    """Call `on_change` (in a thread) whenever something under `root` changes."""

    def __init__(self, root: Path, interval: float, on_change: OnChange, *, notify: bool = True) -> None:
        self.root = root
        self.interval = interval
        self.on_change = on_change
        self.notify = notify and not os.environ.get("WATCHFILES_FORCE_POLLING")
        self.mode = "stopped"  # "notify" or "polling" once started
        self._task: asyncio.Task[None] | None = None
        self._signature: Signature | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        if self.notify:
            try:
                # Watches every folder now: a change made once start() returns is seen.
                notifier = await asyncio.to_thread(RustNotify, [str(self.root)], False, False, 300, True, False)
            except Exception as exc:  # noqa: BLE001 - no notifications here (limit, file system): poll
                log.warning("no file notifications for %s (%s); checking every %.1f s instead",
                            self.root, exc, self.interval)
            else:
                self.mode = "notify"
                self._thread = threading.Thread(target=self._listen, args=(notifier,),
                                                name=f"kb-watch-{self.root.name}", daemon=True)
                self._thread.start()
                return
        await self._start_polling()

    async def _start_polling(self) -> None:
        self.mode = "polling"
        self._signature = await asyncio.to_thread(tree_signature, self.root)
        self._task = asyncio.create_task(self._run(), name=f"kb-watch-{self.root.name}")

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await stop_task(self._task)
        self._task = None
        self.mode = "stopped"

    def _listen(self, notifier: RustNotify) -> None:
        """The notifications thread: group changes, reload what they name, until stopped."""
        try:
            with notifier:
                while not self._stop.is_set():
                    raw = notifier.watch(NOTIFY_DEBOUNCE_MS, NOTIFY_STEP_MS, NOTIFY_TIMEOUT_MS, self._stop)
                    if raw == "stop":
                        return
                    if isinstance(raw, str):  # "timeout", or a signal meant for the main thread
                        continue
                    paths = changed_files(self.root, (path for _, path in raw))
                    if paths is None or paths:
                        self._reload(paths)
        except Exception as exc:  # noqa: BLE001 - the folder went away, the watch failed: poll
            if self._stop.is_set() or self._loop is None:
                return
            log.warning("file notifications for %s stopped (%s); checking every %.1f s instead",
                        self.root, exc, self.interval)
            self._reload(None)  # what changed meanwhile
            loop = self._loop
            asyncio.run_coroutine_threadsafe(self._start_polling(), loop)

    def _reload(self, paths: frozenset[Path] | None) -> None:
        try:
            self.on_change(paths)
        except Exception:  # a failed reload must not stop watching
            log.exception("content reload failed")

    async def check(self) -> bool:
        """Scan once (polling); reload if anything changed. Returns whether it did."""
        signature = await asyncio.to_thread(tree_signature, self.root)
        if signature == self._signature:
            return False
        self._signature = signature
        await asyncio.to_thread(self.on_change, None)
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a bad scan must not stop watching
                log.exception("content watch failed")
