"""Which article files the content folder holds, and their stamps: what tells a reload that a
file changed without reading it."""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

Stamp = tuple[int, int, int]  # (inode, mtime in ns, size): changes whenever the file does


def file_stamp(path: Path | str) -> Stamp | None:
    """The file's stamp; None when it is not a regular file (gone, a folder)."""
    try:
        return stamp_of(os.stat(path))
    except OSError:
        return None


def stamp_of(found: os.stat_result) -> Stamp | None:
    """The stamp of what `found` describes; None when it is not a regular file."""
    if not stat_module.S_ISREG(found.st_mode):
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


def scan_article_files(root: Path) -> dict[str, Stamp]:
    """Every .md file under the content folder, linked folders followed ('/'-separated,
    relative: the parse cache's keys), with its stamp: one stat per file, and no Path made (at
    50,000 files, making them and walking with os.walk was most of a start's scan)."""
    found: dict[str, Stamp] = {}
    if root.is_dir():
        _scan(str(root), "", found)
    return found


def _scan(folder: str, prefix: str, found: dict[str, Stamp]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:  # gone or unreadable meanwhile: as if empty, like os.walk
        return
    for entry in entries:
        try:
            if entry.name.endswith(".md"):
                stamp = stamp_of(entry.stat())  # follows links, as file_stamp does
                if stamp is not None:
                    found[prefix + entry.name] = stamp
                    continue
            if entry.is_dir():
                _scan(entry.path, f"{prefix}{entry.name}/", found)
        except OSError:  # a dangling link, a file removed meanwhile
            continue
