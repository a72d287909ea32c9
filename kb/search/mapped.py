"""Index files read in place from their memory map, never copied into the process.

Whoosh opens a segment's compound file as one read-only memory map, then each file inside it
(postings, terms, columns, stored fields) as a BufferFile, which copied its bytes into a BytesIO:
every searcher held its own copy of every posting list it could read (21 MB per language
searcher at 10,000 articles, five times that at 50,000), one searcher per thread and language,
and a fresh searcher after an edit copied them all again. Here a BufferFile reads through a
view of the map: the pages are the kernel's page cache, shared by every searcher of the
process. Reads give bytes as before; the map itself is read-only, so threads cannot disturb
each other (each file keeps its own position).

Each searcher also mapped each compound file anew, and resident pages count once per mapping in
the process's RSS (six threads' searchers counted an index six times): one map per file is
shared by every CompoundStorage of the process, kept while any of them (or a view) uses it.
"""

from __future__ import annotations

import io
import mmap
import os
import threading
import weakref
from typing import Any

from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import BufferFile

PEEK_BYTES = 512  # a posting block's header is tens of bytes; a larger pickle reads the rest


class ViewFile(io.RawIOBase):
    """A read-only, seekable file over a memoryview (no copy; a position of its own)."""

    def __init__(self, view: Any) -> None:
        super().__init__()
        self._view = memoryview(view).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        data = self._view[start:] if size is None or size < 0 else self._view[start:start + size]
        self._pos = start + len(data)
        return data.tobytes()

    def peek(self, size: int = 0) -> bytes:
        """What follows, without moving: pickle.load reads through it (one call for a block's
        header instead of one per opcode). As io.BufferedReader's, it may give fewer bytes."""
        return self._view[self._pos:self._pos + min(max(size, 1), PEEK_BYTES)].tobytes()

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        view, start = self._view, self._pos
        limit = len(view) if size is None or size < 0 else min(start + size, len(view))
        end = start
        while end < limit and view[end] != 0x0A:
            end += 1
        return self.read(min(end + 1, limit) - start)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()  # the map can be closed once no view of it is left
        self._view = memoryview(b"")
        super().close()


def _buffer_file_init(self: Any, buf: Any, name: str | None = None, onclose: Any = None) -> None:
    self._buf = buf
    self._name = name
    self.file = ViewFile(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def _buffer_file_close(self: Any) -> None:
    _buffer_file_closer(self)
    self._buf = None  # its view of the map: a closed searcher keeps no map alive (nor reads it)


_buffer_file_closer = BufferFile.close
BufferFile.__init__ = _buffer_file_init
BufferFile.close = _buffer_file_close


# (device, inode, size, mtime) of a compound file -> its one map; a map goes when nothing uses it.
_maps: weakref.WeakValueDictionary[tuple[int, int, int, int], mmap.mmap] = weakref.WeakValueDictionary()
_maps_lock = threading.Lock()
_compound_init = CompoundStorage.__init__
_compound_close = CompoundStorage.close


def _shared_map(fileno: int) -> mmap.mmap:
    stat = os.fstat(fileno)
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _maps_lock:
        found = _maps.get(key)
        if found is None or found.closed:
            found = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
            _maps[key] = found
        return found


def _compound_storage_init(self: Any, dbfile: Any, use_mmap: bool = True, basepos: int = 0) -> None:
    _compound_init(self, dbfile, use_mmap=False, basepos=basepos)  # reads the file's directory
    if not use_mmap or not hasattr(self._file, "fileno"):
        return
    try:
        self._source = _shared_map(self._file.fileno())
    except (OSError, ValueError):  # no map to be had (an empty file, no memory): read the file
        return
    self._file.close()
    self._file = None


def _compound_storage_close(self: Any) -> None:
    self._source = None  # shared: unmapped when its last user lets go of it, never here
    _compound_close(self)


CompoundStorage.__init__ = _compound_storage_init
CompoundStorage.close = _compound_storage_close
