"""The file of one bucket object: ``RDB1``, the length of a JSON header (4 bytes, big-endian),
the header (the object's metadata, its key included), then the body; and writing such files
durably (a temporary file flushed to disk, renamed over the old one, the folder flushed)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from runtime.buckets.objects import BucketObject

log = logging.getLogger("raindrop.buckets")
MAGIC = b"RDB1"
_LENGTH = struct.Struct(">I")
MAX_HEADER = 1 << 20  # a header is a few KB at most (1 KB key, 2 KB custom metadata)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def encode(obj: BucketObject) -> bytes:
    """The start of ``obj``'s file, before its body (written after it, never joined to it: a
    64 MiB concatenation would hold the interpreter's lock for tens of milliseconds)."""
    header = json.dumps(obj.as_dict(), ensure_ascii=False).encode()
    return MAGIC + _LENGTH.pack(len(header)) + header


class Damaged(Exception):
    """A file in ``objects/`` whose header is not one this module wrote."""


def read_header(handle: BinaryIO) -> tuple[BucketObject, int]:
    """The object a file describes and where its body starts; :class:`Damaged` otherwise."""
    start = handle.read(8)
    if len(start) != 8 or start[:4] != MAGIC:
        raise Damaged("it does not start with a bucket object header")
    (length,) = _LENGTH.unpack(start[4:])
    if length > MAX_HEADER:
        raise Damaged(f"its header claims {length} bytes")
    header = handle.read(length)
    try:
        obj = BucketObject.from_dict(json.loads(header))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Damaged(f"its header is not an object's metadata ({type(exc).__name__})") from None
    return obj, 8 + length


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A handle to write ``path`` through: what is written appears as ``path`` at once and
    durably when the block ends (a temporary file, fsynced, renamed, the folder fsynced), and not
    at all if it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def write_file(path: Path, *chunks: bytes) -> None:
    """Write ``chunks`` as ``path``, atomically and durably."""
    with atomic_file(path) as handle:
        for chunk in chunks:
            handle.write(chunk)


def entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename, an unlink) to disk, where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
