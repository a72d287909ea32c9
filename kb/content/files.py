"""Safe file writes, shared by every writer of kb: the web editor, `kb new`, search builds.

One definition each of the three things a writer needs: an atomic replace (readers see the old
file or the new one, whole, also after a crash), an exclusive lock between threads and processes,
and a compare-and-swap that refuses to overwrite a file that changed since it was read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path


def file_revision(data: bytes) -> str:
    """The revision of a file's bytes: what an editor saw when it opened the file."""
    return hashlib.sha256(data).hexdigest()[:16]


def write_atomically(path: Path, text: str) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder.

    The text is written as given (no newline translation), so CRLF files stay CRLF.
    """
    write_atomically_bytes(path, text.encode("utf-8"))


def write_atomically_bytes(path: Path, data: bytes) -> None:
    """write_atomically for bytes (the content cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".kb-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """One holder at a time across threads of this process and other processes.

    flock alone is per open file description, so two threads of one process would both get it:
    a per-path thread lock comes first. The kernel releases the flock if the holder dies.
    """
    path = path.resolve()
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(path, threading.Lock())
    with thread_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


class FileChanged(Exception):
    """The file is not the one the writer read: `current` is what is on disk now (None: absent)."""

    def __init__(self, current: str | None) -> None:
        super().__init__("the file changed on disk")
        self.current = current


def replace_if_unchanged(path: Path, text: str | None, expected: str | None, lock: Path) -> str | None:
    """Write `text` (or delete the file when None) if its revision is `expected` (None: absent).

    Returns the text that was on disk before; raises FileChanged with the current text.
    """
    with exclusive_lock(lock):
        try:
            data: bytes | None = path.read_bytes()
        except FileNotFoundError:
            data = None
        current = file_revision(data) if data is not None else None
        before = data.decode("utf-8", errors="replace") if data is not None else None
        if current != expected:
            raise FileChanged(before)
        if text is None:
            path.unlink()
        else:
            write_atomically(path, text)
        return before
