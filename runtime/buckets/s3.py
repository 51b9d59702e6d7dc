"""Buckets on an S3-compatible service (AWS, Vultr, MinIO, R2, moto) through boto3.

Used for a bucket when ``raindrop.local.yaml`` gives it an endpoint::

    buckets:
      podcast-audio:
        endpoint_url: https://ewr1.vultrobjects.com
        bucket: civic-pulse-podcasts          # default: the manifest's name
        region: us-east-1
        access_key_id: ${VULTR_ACCESS_KEY}    # ${NAME} reads the app's env values
        secret_access_key: ${VULTR_SECRET_KEY}

:class:`S3BlobStore` only keeps bytes; the :class:`~runtime.buckets.binding.Bucket` in front of
it applies every rule of the API, as for files. boto3 is synchronous, so each call runs in a
worker thread. Multipart uploads are S3's own (so part etags are
the parts' MD5s, a completed or aborted upload is unknown rather than finished, and an upload
needs one part or more). What S3 itself cannot keep: checksums beyond MD5, and the case of custom
metadata names (S3 lowercases them), and the empty key (R2 has one; S3 refuses it); non-ASCII metadata values travel RFC 2047-encoded.
Conditional puts read, then write: another client writing between the two is not seen.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.header import decode_header
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from runtime.buckets.base import BlobStore, Condition, Plan
from runtime.buckets.binding import Bucket
from runtime.buckets.objects import BucketObject, EventSink
from runtime.errors import BackendError, BindingError

#: R2's HTTP metadata fields and S3's names for them
HTTP = (
    ("contentType", "ContentType"),
    ("contentLanguage", "ContentLanguage"),
    ("contentDisposition", "ContentDisposition"),
    ("contentEncoding", "ContentEncoding"),
    ("cacheControl", "CacheControl"),
)
_MISSING = ("NoSuchKey", "404", "NotFound")


class S3BlobStore(BlobStore):
    def __init__(
        self,
        name: str,
        *,
        bucket: str,
        endpoint_url: str,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        self.name = name
        self.remote = bucket
        self.endpoint_url = endpoint_url
        self.where = f"{endpoint_url}/{bucket}"
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    async def _call(self, operation: str, **params: Any) -> Any:
        """The operation's answer; None when S3 says the key holds nothing."""
        try:
            return await asyncio.to_thread(getattr(self._client, operation), Bucket=self.remote, **params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _MISSING:
                return None
            raise BackendError(f"bucket {self.name!r} ({self.where}): {operation} failed: {exc}") from None
        except BotoCoreError as exc:
            raise BackendError(f"bucket {self.name!r} ({self.where}): {operation} failed: {exc}") from None

    async def ensure(self) -> None:
        """Create the remote bucket when it does not exist (useful against a local S3 server)."""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.remote)
        except ClientError:
            await asyncio.to_thread(self._client.create_bucket, Bucket=self.remote)

    async def head(self, key: str) -> BucketObject | None:
        if not key:
            return None  # S3 has no empty key, so nothing is stored under it
        response = await self._call("head_object", Key=key)
        return None if response is None else _object(key, response)

    async def get(self, key: str, plan: Plan) -> tuple[BucketObject, bytes | None] | None:
        for _ in range(3):  # the object may be replaced between head and get: read the new one
            obj = await self.head(key)
            if obj is None:
                return None
            span = plan(obj)
            if span is None:
                return obj, None
            params: dict[str, Any] = {"Key": key, "IfMatch": obj.etag}
            if span != (0, obj.size):
                params["Range"] = f"bytes={span[0]}-{span[1] - 1}"
            try:
                response = await asyncio.to_thread(self._client.get_object, Bucket=self.remote, **params)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("PreconditionFailed", "412", *_MISSING):
                    continue
                raise BackendError(f"bucket {self.name!r} ({self.where}): get_object failed: {exc}") from None
            except BotoCoreError as exc:
                raise BackendError(f"bucket {self.name!r} ({self.where}): get_object failed: {exc}") from None
            return obj, await asyncio.to_thread(response["Body"].read)
        raise BackendError(f"bucket {self.name!r} ({self.where}): {key!r} kept changing while it was read")

    async def put(self, obj: BucketObject, data: bytes, condition: Condition | None = None) -> BucketObject | None:
        if not obj.key:
            raise BindingError(f"bucket {self.name!r} ({self.where}): S3 has no empty key; name the object")
        if condition is not None and not condition(await self.head(obj.key)):
            return None
        params: dict[str, Any] = {
            "Key": obj.key,
            "Body": data,
            "Metadata": {k: _header(v) for k, v in obj.custom_metadata.items()},
            "ContentMD5": base64.b64encode(bytes.fromhex(obj.etag)).decode(),
        }
        for ours, theirs in HTTP:
            if ours in obj.http_metadata:
                params[theirs] = _header(obj.http_metadata[ours])
        response = await self._call("put_object", **params)
        obj.version = str((response or {}).get("VersionId") or obj.version)
        return obj

    async def delete(self, keys: Sequence[str]) -> list[str]:
        held = [key for key in dict.fromkeys(keys) if await self.head(key) is not None]
        if held:
            await self._call("delete_objects", Delete={"Objects": [{"Key": k} for k in held], "Quiet": True})
        return held

    async def scan(self, prefix: str, after: str | None, limit: int, metadata: bool) -> list[BucketObject]:
        found: list[BucketObject] = []
        while len(found) < limit:  # S3 answers at most 1,000 keys a page
            params: dict[str, Any] = {"MaxKeys": min(1000, limit - len(found))}
            if prefix:
                params["Prefix"] = prefix
            if after is not None:
                params["StartAfter"] = after
            response = await self._call("list_objects_v2", **params) or {}
            for item in response.get("Contents", []):
                key = str(item["Key"])
                full = await self.head(key) if metadata else None
                when = _when(item["LastModified"])
                found.append(full or BucketObject(key, int(item["Size"]), str(item["ETag"]).strip('"'), when, ""))
                after = key
            if not response.get("IsTruncated") or not response.get("Contents"):
                break
        return found

    # -- multipart uploads: S3's own, so parts never leave the service ---------------------------

    async def _upload_call(self, operation: str, **params: Any) -> Any:
        """The operation's answer; None when S3 knows no such upload."""
        try:
            return await asyncio.to_thread(getattr(self._client, operation), Bucket=self.remote, **params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("NoSuchUpload", *_MISSING):
                return None
            raise BackendError(f"bucket {self.name!r} ({self.where}): {operation} failed: {exc}") from None
        except BotoCoreError as exc:
            raise BackendError(f"bucket {self.name!r} ({self.where}): {operation} failed: {exc}") from None

    async def begin_upload(self, obj: BucketObject) -> str:
        if not obj.key:
            raise BindingError(f"bucket {self.name!r} ({self.where}): S3 has no empty key; name the object")
        params: dict[str, Any] = {"Key": obj.key, "Metadata": {k: _header(v) for k, v in obj.custom_metadata.items()}}
        for ours, theirs in HTTP:
            if ours in obj.http_metadata:
                params[theirs] = _header(obj.http_metadata[ours])
        response = await self._call("create_multipart_upload", **params)
        return str(response["UploadId"])

    async def upload_state(self, key: str, upload_id: str) -> tuple[BucketObject, str] | None:
        if not key:
            return None
        found = await self._upload_call("list_parts", Key=key, UploadId=upload_id, MaxParts=1)
        if found is None:
            return None  # S3 forgets completed and aborted uploads: all are unknown to it
        return BucketObject(key, 0, "", datetime.now(UTC), ""), "in_progress"

    async def put_part(self, key: str, upload_id: str, number: int, part: BucketObject, data: bytes) -> str:
        response = await self._upload_call(
            "upload_part",
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ContentMD5=base64.b64encode(bytes.fromhex(part.hashes["part_md5"])).decode(),
        )
        if response is None:
            raise BindingError(f"uploadPart: The specified multipart upload does not exist. (10024) ({upload_id!r})")
        return str(response["ETag"]).strip('"')

    async def parts(self, key: str, upload_id: str) -> dict[int, BucketObject]:
        found: dict[int, BucketObject] = {}
        marker = 0
        while True:
            page = await self._upload_call("list_parts", Key=key, UploadId=upload_id, PartNumberMarker=marker)
            for item in (page or {}).get("Parts", []):
                etag = str(item["ETag"]).strip('"')
                number = int(item["PartNumber"])
                when = _when(item.get("LastModified"))
                found[number] = BucketObject(
                    f"part {number}", int(item["Size"]), etag, when, etag, hashes={"part_md5": etag}
                )
            if not page or not page.get("IsTruncated"):
                return found
            marker = int(page["NextPartNumberMarker"])

    async def finish_upload(
        self, key: str, upload_id: str, numbers: Sequence[int], obj: BucketObject | None
    ) -> BucketObject | None:
        if obj is None:
            await self._upload_call("abort_multipart_upload", Key=key, UploadId=upload_id)
            return None
        if not numbers:
            raise BindingError(f"bucket {self.name!r} ({self.where}): S3 completes an upload of one part or more")
        stored = await self.parts(key, upload_id)
        chosen = [{"PartNumber": n, "ETag": f'"{stored[n].etag}"'} for n in numbers]
        done = await self._upload_call(
            "complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": chosen}
        )
        return None if done is None else await self.head(key)


class S3Bucket(Bucket):
    """A :class:`Bucket` whose objects live in an S3-compatible service: the same API and
    checks, only the store differs."""

    def __init__(
        self,
        name: str,
        *,
        bucket: str,
        endpoint_url: str,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        on_event: EventSink | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.s3 = S3BlobStore(
            name,
            bucket=bucket,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
        )
        super().__init__(name, None, on_event, now, store=self.s3)

    async def ensure(self) -> None:
        """Create the remote bucket when it does not exist."""
        await self.s3.ensure()


def _header(value: str) -> str:
    """``value`` as an HTTP header can carry it: RFC 2047 when it is not printable ASCII."""
    if value.isascii() and value.isprintable():
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="


def _unheader(value: str) -> str:
    if not value.startswith("=?"):
        return value
    try:
        return "".join(
            part.decode(charset or "ascii") if isinstance(part, bytes) else part
            for part, charset in decode_header(value)
        )
    except (ValueError, LookupError):
        return value


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.now(UTC)


def _object(key: str, response: dict[str, Any]) -> BucketObject:
    http = {ours: _unheader(str(response[theirs])) for ours, theirs in HTTP if response.get(theirs)}
    return BucketObject(
        key=key,
        size=int(response.get("ContentLength", 0)),
        etag=str(response.get("ETag", "")).strip('"'),
        uploaded=_when(response.get("LastModified")),
        version=str(response.get("VersionId") or ""),
        http_metadata=http,
        custom_metadata={k: _unheader(str(v)) for k, v in (response.get("Metadata") or {}).items()},
    )
