"""Buckets on an S3-compatible service (AWS, Vultr, MinIO, R2, moto) through boto3.

Used for a bucket when ``raindrop.local.yaml`` gives it an endpoint::

    buckets:
      podcast-audio:
        endpoint_url: https://ewr1.vultrobjects.com
        bucket: civic-pulse-podcasts          # default: the manifest's name
        region: us-east-1
        access_key_id: ${VULTR_ACCESS_KEY}    # ${NAME} reads the app's env values
        secret_access_key: ${VULTR_SECRET_KEY}

The API is the same as the filesystem bucket's. boto3 is synchronous, so each call runs in a
worker thread; bucket observers still receive events, which the runtime raises itself.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from runtime.buckets import MAX_LIST, Bucket, BucketObject, BucketObjectBody, EventSink
from runtime.errors import BackendError, BindingError


class S3Bucket(Bucket):
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
    ) -> None:
        self.name = name
        self.remote = bucket
        self.endpoint_url = endpoint_url
        self._on_event = on_event
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def __repr__(self) -> str:
        return f"<S3Bucket {self.name!r} -> {self.endpoint_url}/{self.remote}>"

    async def _call(self, operation: str, **params: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self._client, operation), Bucket=self.remote, **params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise BackendError(
                f"bucket {self.name!r} ({self.endpoint_url}/{self.remote}): {operation} failed: {exc}"
            ) from None
        except BotoCoreError as exc:
            raise BackendError(
                f"bucket {self.name!r} ({self.endpoint_url}/{self.remote}): {operation} failed: {exc}"
            ) from None

    async def ensure(self) -> None:
        """Create the remote bucket when it does not exist (useful against a local S3 server)."""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.remote)
        except ClientError:
            await asyncio.to_thread(self._client.create_bucket, Bucket=self.remote)

    async def put(
        self,
        key: str,
        value: str | bytes | bytearray | memoryview | None,
        *,
        http_metadata: dict[str, str] | None = None,
        custom_metadata: dict[str, str] | None = None,
        md5: str | None = None,
    ) -> BucketObject:
        key = self._check(key)
        data = value.encode() if isinstance(value, str) else bytes(value or b"")
        if not isinstance(value, str | bytes | bytearray | memoryview | None):
            raise BindingError(f"bucket {self.name!r}: value for {key!r} is a {type(value).__name__}; put str or bytes")
        params: dict[str, Any] = {"Key": key, "Body": data, "Metadata": dict(custom_metadata or {})}
        http = http_metadata or {}
        for ours, theirs in (
            ("contentType", "ContentType"),
            ("cacheControl", "CacheControl"),
            ("contentDisposition", "ContentDisposition"),
            ("contentEncoding", "ContentEncoding"),
            ("contentLanguage", "ContentLanguage"),
        ):
            if ours in http:
                params[theirs] = http[ours]
        if md5 is not None:
            params["ContentMD5"] = base64.b64encode(bytes.fromhex(md5)).decode()
        response = await self._call("put_object", **params)
        obj = BucketObject(
            key=key,
            size=len(data),
            etag=str(response["ETag"]).strip('"'),
            uploaded=datetime.now(UTC),
            version=str(response.get("VersionId") or ""),
            http_metadata=dict(http),
            custom_metadata=dict(custom_metadata or {}),
        )
        if self._on_event is not None:
            await self._on_event(self.name, "PutObject", key, obj.size, obj.etag)
        return obj

    async def head(self, key: str) -> BucketObject | None:
        response = await self._call("head_object", Key=self._check(key))
        return None if response is None else _object(key, response)

    async def get(self, key: str, *, range: dict[str, int] | None = None) -> BucketObjectBody | None:
        key = self._check(key)
        params: dict[str, Any] = {"Key": key}
        if range is not None:
            if "suffix" in range:
                params["Range"] = f"bytes=-{int(range['suffix'])}"
            else:
                start = int(range.get("offset", 0))
                end = "" if "length" not in range else str(start + int(range["length"]) - 1)
                params["Range"] = f"bytes={start}-{end}"
        response = await self._call("get_object", **params)
        if response is None:
            return None
        body = await asyncio.to_thread(response["Body"].read)
        obj = _object(key, response)
        applied = None
        if range is not None:
            content_range = str(response.get("ContentRange", ""))
            start = int(content_range.split(" ")[1].split("-")[0]) if content_range else 0
            applied = {"offset": start, "length": len(body)}
        return BucketObjectBody(**{**obj.__dict__, "range": applied}, body=body)

    async def delete(self, keys: str | Sequence[str]) -> None:
        names = [self._check(k) for k in ([keys] if isinstance(keys, str) else list(keys))]
        if not names:
            return
        await self._call("delete_objects", Delete={"Objects": [{"Key": k} for k in names], "Quiet": True})
        if self._on_event is not None:
            for key in names:
                await self._on_event(self.name, "DeleteObject", key, None, None)

    async def list(
        self,
        *,
        prefix: str | None = None,
        limit: int = MAX_LIST,
        cursor: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
    ) -> dict[str, Any]:
        self._check_limit(limit)
        params: dict[str, Any] = {"MaxKeys": limit}
        if prefix:
            params["Prefix"] = prefix
        if delimiter:
            params["Delimiter"] = delimiter
        if start_after:
            params["StartAfter"] = start_after
        if cursor:
            token = self._decode_cursor(cursor)
            if token is None:  # not a cursor this bucket made: an empty page, as R2 answers
                return {"objects": [], "delimited_prefixes": [], "truncated": False, "cursor": None}
            params["ContinuationToken"] = token
        response = await self._call("list_objects_v2", **params) or {}
        objects: builtins.list[BucketObject] = [
            BucketObject(
                key=item["Key"],
                size=int(item["Size"]),
                etag=str(item["ETag"]).strip('"'),
                uploaded=item["LastModified"],
                version="",
            )
            for item in response.get("Contents", [])
        ]
        token = response.get("NextContinuationToken")
        return {
            "objects": objects,
            "delimited_prefixes": [p["Prefix"] for p in response.get("CommonPrefixes", [])],
            "truncated": bool(response.get("IsTruncated")),
            "cursor": self._encode_cursor(token) if token else None,
        }


def _object(key: str, response: dict[str, Any]) -> BucketObject:
    http = {}
    for theirs, ours in (("ContentType", "contentType"), ("CacheControl", "cacheControl")):
        if response.get(theirs):
            http[ours] = str(response[theirs])
    return BucketObject(
        key=key,
        size=int(response.get("ContentLength", 0)),
        etag=str(response.get("ETag", "")).strip('"'),
        uploaded=response.get("LastModified") or datetime.now(UTC),
        version=str(response.get("VersionId") or ""),
        http_metadata=http,
        custom_metadata=dict(response.get("Metadata") or {}),
    )
