"""Multipart uploads in the state folder: parts kept apart, under ``uploads/<upload id>/``
(``upload.json``, then ``part-<n>`` files in the object file format), until ``complete`` streams
them into one object file and removes them."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import anyio.to_thread

from runtime.buckets.fileformat import atomic_file, encode, log, read_header, write_file
from runtime.buckets.objects import BucketObject

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


class FileUploads:
    """Multipart uploads of a :class:`FileBlobStore` (its ``begin_upload`` .. ``finish_upload``)."""

    folder: Path

    async def open(self) -> None:
        raise NotImplementedError  # the store's own

    def _path(self, key: str) -> Path:
        raise NotImplementedError  # the store's own

    def _upload(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):  # ids are ours, checked before use: never a path
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.folder / "uploads" / upload_id

    async def begin_upload(self, obj: BucketObject) -> str:
        await self.open()
        upload_id = os.urandom(16).hex()
        record = json.dumps({"object": obj.as_dict(), "state": "in_progress"}).encode()
        await anyio.to_thread.run_sync(write_file, self._upload(upload_id) / "upload.json", record)
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
        await anyio.to_thread.run_sync(write_file, self._upload(upload_id) / f"part-{number}", encode(part), data)
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
                write_file(folder / "upload.json", json.dumps(record).encode())
            for path in folder.glob("part-*"):
                path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(finish)
        return obj

    def _assemble(self, obj: BucketObject, parts: list[Path]) -> None:
        """Stream the parts' bodies into one object file, written as every object is."""
        with atomic_file(self._path(obj.key)) as out:
            out.write(encode(obj))
            for part in parts:
                with part.open("rb") as handle:
                    read_header(handle)
                    shutil.copyfileobj(handle, out, 1 << 20)
