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

Multipart uploads keep their parts apart, under ``uploads/<upload id>/`` (``upload.json``, then
``part-<n>`` files in the object file format), until ``complete`` streams them into one object
file and removes them.

A folder in the layout of earlier versions (``K`` + ``K.meta.json``) is moved into this one when
the store opens: see :mod:`runtime.buckets.migrate`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread

from runtime.buckets.base import BlobStore, Condition, Plan
from runtime.buckets.migrate import migrate
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


class FileUploads:
    """Multipart uploads of a :class:`FileBlobStore` (its ``begin_upload`` .. ``finish_upload``)."""

    objects: Path
    folder: Path
    _path: Any
    _read: Any
    _write: Any
    open: Any

    def _upload(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):  # ids are ours, checked before use: never a path
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.folder / "uploads" / upload_id

    async def begin_upload(self, obj: BucketObject) -> str:
        await self.open()
        upload_id = os.urandom(16).hex()
        record = json.dumps({"object": obj.as_dict(), "state": "in_progress"}).encode()
        await anyio.to_thread.run_sync(self._write, self._upload(upload_id) / "upload.json", record)
        return upload_id

    def _state(self, upload_id: str) -> tuple[BucketObject, str] | None:
        if not _UPLOAD_ID.fullmatch(upload_id):
            return None
        try:
            record = json.loads((self._upload(upload_id) / "upload.json").read_bytes())
            return BucketObject.from_dict(record["object"]), str(record["state"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("multipart upload %s is damaged and treated as absent: %s", upload_id, exc)
            return None

    async def upload_state(self, key: str, upload_id: str) -> tuple[BucketObject, str] | None:
        await self.open()
        state = await anyio.to_thread.run_sync(self._state, upload_id)
        return state if state is not None and state[0].key == key else None

    async def put_part(self, key: str, upload_id: str, number: int, part: BucketObject, data: bytes) -> str:
        await anyio.to_thread.run_sync(self._write, self._upload(upload_id) / f"part-{number}", encode(part), data)
        return part.etag

    async def parts(self, key: str, upload_id: str) -> dict[int, BucketObject]:
        def read() -> dict[int, BucketObject]:
            found = {}
            for path in self._upload(upload_id).glob("part-*"):
                with path.open("rb") as handle:
                    found[int(path.name[5:])] = read_header(handle)[0]
            return found

        return await anyio.to_thread.run_sync(read)

    async def finish_upload(
        self, key: str, upload_id: str, numbers: Sequence[int], obj: BucketObject | None
    ) -> BucketObject | None:
        folder = self._upload(upload_id)

        def finish() -> None:
            if obj is not None:
                self._assemble(obj, [folder / f"part-{n}" for n in numbers])
            state = self._state(upload_id)
            if state is not None:
                record = {"object": state[0].as_dict(), "state": "completed" if obj is not None else "aborted"}
                self._write(folder / "upload.json", json.dumps(record).encode())
            for path in folder.glob("part-*"):
                path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(finish)
        return obj

    def _assemble(self, obj: BucketObject, parts: list[Path]) -> None:
        """Stream the parts' bodies into one object file, written as every object is."""
        path: Path = self._path(obj.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(encode(obj))
                for part in parts:
                    with part.open("rb") as handle:
                        read_header(handle)
                        shutil.copyfileobj(handle, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(path.parent)


_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _sync_folder(folder: Path) -> None:
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

    @staticmethod
    def _write(path: Path, *chunks: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(path.parent)

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
                _sync_folder(self.objects)
            return removed

        return await anyio.to_thread.run_sync(remove)

    async def scan(self, prefix: str, after: str | None, limit: int, metadata: bool) -> list[BucketObject]:
        await self.open()

        def walk() -> list[BucketObject]:
            found = []
            seen: dict[str, tuple[tuple[int, int, int], BucketObject]] = {}
            for sub in _entries(self.objects):
                for entry in _entries(Path(sub.path)):
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
