"""Watch the content tree: edits made outside the web editor (git pull, a text editor) go live.

Polling, not inotify: it works the same on every file system (network mounts, containers) and
costs one stat per file per interval. The scan and the reload run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("kb.watch")

Signature = frozenset[tuple[str, int, int]]


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


class TreeWatcher:
    """Call `on_change` (in a thread) whenever the signature of `root` changes."""

    def __init__(self, root: Path, interval: float, on_change: Callable[[], object]) -> None:
        self.root = root
        self.interval = interval
        self.on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._signature: Signature | None = None

    async def start(self) -> None:
        self._signature = await asyncio.to_thread(tree_signature, self.root)
        self._task = asyncio.create_task(self._run(), name=f"kb-watch-{self.root.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def check(self) -> bool:
        """Scan once; reload if anything changed. Returns whether it did."""
        signature = await asyncio.to_thread(tree_signature, self.root)
        if signature == self._signature:
            return False
        self._signature = signature
        await asyncio.to_thread(self.on_change)
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a bad scan must not stop watching
                log.exception("content watch failed")
