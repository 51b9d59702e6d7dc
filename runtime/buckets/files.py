"""Buckets in the state folder: one file per object, named by the SHA-256 of its key.

Layout of a bucket's folder::

    objects/<h[:2]>/<h>      h = sha256(key as UTF-8), hex

Each file holds ``RDB1``, the length of a JSON header (4 bytes, big-endian), the header (the
object's metadata, its key included) and then the body. No key chooses any part of any file
name, so no key can reach another key's file, whatever it spells (``K.meta.json``,
``sha256-…``, ``..``). Every read checks the key stored in the header: a file whose key is not
the one asked for (a hash collision, a file copied or edited by hand) holds nothing, and a file
whose header cannot be read is treated as absent with one warning. Writes go to a temporary
file in the same folder, are flushed to disk, then renamed over the object (and the folder is
flushed), so an acknowledged put survives a crash and a reader sees the old object or the new.

Multipart uploads keep their parts apart until they complete: see :mod:`runtime.buckets.uploads`.

A folder in the layout of earlier versions (``K`` + ``K.meta.json``) is moved into this one when
the store opens: see :mod:`runtime.buckets.migrate`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import anyio.to_thread

from runtime.buckets.base import BlobStore, Condition, Plan
from runtime.buckets.fileformat import Damaged, encode, entries, key_hash, log, read_header, sync_folder, write_file
from runtime.buckets.migrate import migrate
from runtime.buckets.objects import BucketObject
from runtime.buckets.uploads import FileUploads

__all__ = ["FileBlobStore", "encode", "key_hash", "read_header"]


class FileBlobStore(FileUploads, BlobStore):
    """Objects under ``folder`` (see the module's docstring for the layout)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.objects = folder / "objects"
        self.where = str(folder)
        self._warned: set[str] = set()
        self._lock = threading.Lock()  # conditional puts of this process: check and write as one
        self._opened = False
        #: headers read by the last scan, by path, with the (mtime, size, inode) they were read at
        self._headers: dict[str, tuple[tuple[int, int, int], BucketObject]] = {}

    def _path(self, key: str) -> Path:
        digest = key_hash(key)
        return self.objects / digest[:2] / digest

    async def open(self) -> None:
        if not self._opened:
            await anyio.to_thread.run_sync(self._open)

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        migrate(self.folder, self._write)
        self.objects.mkdir(exist_ok=True)
        self._opened = True

    def _damaged(self, path: Path, why: str) -> None:
        if str(path) not in self._warned:  # one warning per file, not one per read
            self._warned.add(str(path))
            log.warning("bucket file %s is damaged and treated as absent: %s", path, why)

    def _read(self, path: Path, key: str | None, plan: Plan | None) -> tuple[BucketObject, bytes | None] | None:
        try:
            with path.open("rb") as handle:
                obj, body_at = read_header(handle)
                digest = key_hash(obj.key)
                if path.name != digest or path.parent.name != digest[:2] or (key is not None and obj.key != key):
                    return None  # not this key's file: a collision, or a file moved by hand
                if os.fstat(handle.fileno()).st_size != body_at + obj.size:
                    raise Damaged(f"its body is not the {obj.size} bytes its header gives")
                span = plan(obj) if plan is not None else None
                if span is None:
                    return obj, None
                handle.seek(body_at + span[0])
                return obj, handle.read(span[1] - span[0])
        except FileNotFoundError:
            return None
        except Damaged as exc:
            self._damaged(path, str(exc))
            return None

    async def head(self, key: str) -> BucketObject | None:
        await self.open()
        found = await anyio.to_thread.run_sync(self._read, self._path(key), key, None)
        return None if found is None else found[0]

    async def get(self, key: str, plan: Plan) -> tuple[BucketObject, bytes | None] | None:
        await self.open()
        return await anyio.to_thread.run_sync(self._read, self._path(key), key, plan)

    async def put(self, obj: BucketObject, data: bytes, condition: Condition | None = None) -> BucketObject | None:
        await self.open()

        def write() -> BucketObject | None:
            path = self._path(obj.key)
            guard: AbstractContextManager[object] = self._lock if condition is not None else nullcontext()
            with guard:
                if condition is not None:
                    found = self._read(path, obj.key, None)
                    if not condition(None if found is None else found[0]):
                        return None
                self._write(path, encode(obj), data)
            return obj

        return await anyio.to_thread.run_sync(write)

    _write = staticmethod(write_file)

    async def delete(self, keys: Sequence[str]) -> list[str]:
        await self.open()

        def remove() -> list[str]:
            removed = []
            for key in keys:
                path = self._path(key)
                if self._read(path, key, None) is None:
                    continue  # nothing there, or another key's file: not ours to remove
                path.unlink(missing_ok=True)
                removed.append(key)
            if removed:
                sync_folder(self.objects)
            return removed

        return await anyio.to_thread.run_sync(remove)

    async def scan(self, prefix: str, after: str | None, limit: int, metadata: bool) -> list[BucketObject]:
        await self.open()

        def walk() -> list[BucketObject]:
            found = []
            seen: dict[str, tuple[tuple[int, int, int], BucketObject]] = {}
            for sub in entries(self.objects):
                for entry in entries(Path(sub.path)):
                    if entry.name.startswith("."):
                        continue  # a temporary file of a write in progress
                    try:
                        info = entry.stat()
                    except FileNotFoundError:
                        continue
                    stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
                    cached = self._headers.get(entry.path)
                    if cached is not None and cached[0] == stamp:
                        obj = cached[1]  # unchanged since it was read: no need to open it again
                    else:
                        read = self._read(Path(entry.path), None, None)
                        if read is None:
                            continue
                        obj = read[0]
                    seen[entry.path] = (stamp, obj)
                    if obj.key.startswith(prefix) and (after is None or obj.key > after):
                        found.append(obj)
            self._headers = seen  # files gone since the last walk leave the cache with it
            found.sort(key=lambda o: o.key)
            return found[:limit]

        return await anyio.to_thread.run_sync(walk)
