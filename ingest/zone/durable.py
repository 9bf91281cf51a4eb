"""Local files that survive a crash; every fsync of the package is here.

Data is durable once its file is fsynced; a new name (a created file or folder, a rename,
a removal) once the folder holding it is fsynced too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(folder: Path) -> None:
    """mkdir -p, fsyncing the parent of every folder it creates (so the new entries survive a crash)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir()
        except FileExistsError:  # another writer made it first
            continue
        fsync_dir(created.parent)


def write_atomically(path: Path, data: bytes, mode: int, temp_prefix: str) -> None:
    """Replace `path` by `data`: readers see the old file or the whole new one, never a part."""
    fd, temp = tempfile.mkstemp(prefix=temp_prefix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)
        handle.flush()
        os.fsync(handle.fileno())


def remove(path: Path) -> None:
    path.unlink()
    fsync_dir(path.parent)


class AppendFile:
    """A file held open for appending: each `append` is durable when it returns, with one
    fsync (two for the first append to a new file, whose name must be made durable too)."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        self._new_name = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
        self.size = os.fstat(self._fd).st_size

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self.size += len(data)
        if self._new_name:
            fsync_dir(self.path.parent)
            self._new_name = False

    def close(self) -> None:
        os.close(self._fd)
