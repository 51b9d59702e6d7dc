"""The blob store contract (``runtime/buckets/base.py``): every ``BlobStore`` method on the file
store and on S3 (moto's server on loopback), with non-ASCII and astral keys in every list and
prefix case. The ``Bucket`` binding's rules hold the same over both (camelCase keywords, cursors)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime.buckets import BlobStore, Bucket, BucketObject, FileBlobStore
from runtime.errors import BindingError
from tests.conftest import moto_server
from tests.contract.conftest import ODD_KEYS

pytestmark = pytest.mark.anyio
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server for the module; each test gets a bucket of its own on it."""
    yield from moto_server()


def s3_bucket(name: str, endpoint: str) -> Bucket:
    from runtime.buckets.s3 import S3Bucket

    return S3Bucket(
        name,
        bucket=f"contract-{uuid.uuid4().hex[:12]}",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )


@pytest.fixture(params=["file", "s3"])
async def bucket(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bucket]:
    if request.param == "file":
        yield Bucket("files", tmp_path / "bucket")
        return
    from runtime.buckets.s3 import S3Bucket

    remote = s3_bucket("remote", request.getfixturevalue("moto_endpoint"))
    assert isinstance(remote, S3Bucket)
    await remote.ensure()
    yield remote


@pytest.fixture
def store(bucket: Bucket) -> BlobStore:
    return bucket.store


def made(key: str, data: bytes, **fields: object) -> BucketObject:
    obj = BucketObject(key, len(data), hashlib.md5(data).hexdigest(), WHEN, "v" * 32)
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj


async def test_put_head_get_round_trip_odd_keys(store: BlobStore) -> None:
    from runtime.buckets.s3 import S3BlobStore

    if isinstance(store, S3BlobStore):  # the one key S3 cannot hold: said so, not a botocore error
        with pytest.raises(BindingError, match="S3 has no empty key"):
            await store.put(made("", b""), b"")
        assert await store.head("") is None
    else:
        await store.put(made("", b"empty key"), b"empty key")
        assert (await store.get("", lambda o: (0, o.size)))[1] == b"empty key"  # type: ignore[index]
    for key in ["é/ü", "一二", "😀/\U0010ffff", "../up", "K.meta.json", "sha256-" + "0" * 64, "x" * 1024]:
        data = key.encode() + b"\x00\xff body"
        obj = made(key, data, http_metadata={"contentType": "text/plain"}, custom_metadata={"who": "é😀"})
        assert await store.put(obj, data) is obj
        head = await store.head(key)
        assert head is not None and (head.key, head.size, head.etag) == (key, len(data), obj.etag), key
        assert head.http_metadata == {"contentType": "text/plain"} and head.custom_metadata == {"who": "é😀"}
        found = await store.get(key, lambda o: (0, o.size))
        assert found is not None and found[1] == data, key
    assert await store.head("missing") is None
    assert await store.get("missing", lambda o: (0, o.size)) is None


async def test_get_reads_the_span_its_plan_asks_for(store: BlobStore) -> None:
    await store.put(made("k", b"0123456789"), b"0123456789")
    seen: list[int] = []

    def plan(obj: BucketObject) -> tuple[int, int]:
        seen.append(obj.size)
        return 3, 7

    assert (await store.get("k", plan))[1] == b"3456"  # type: ignore[index]
    assert seen == [10]
    meta, body = await store.get("k", lambda o: None)  # type: ignore[misc]
    assert body is None and meta.size == 10
    with pytest.raises(BindingError, match="refused"):

        def refuse(obj: BucketObject) -> tuple[int, int]:
            raise BindingError("refused")

        await store.get("k", refuse)
    await store.put(made("empty", b""), b"")
    assert (await store.get("empty", lambda o: (0, 0)))[1] == b""  # type: ignore[index]


async def test_put_with_a_condition_sees_the_stored_object_or_none(store: BlobStore) -> None:
    given: list[BucketObject | None] = []

    def refuse(current: BucketObject | None) -> bool:
        given.append(current)
        return False

    assert await store.put(made("k", b"new"), b"new", refuse) is None
    assert given == [None] and await store.head("k") is None
    await store.put(made("k", b"old"), b"old")
    assert await store.put(made("k", b"new"), b"new", refuse) is None
    assert given[-1] is not None and given[-1].size == 3
    assert (await store.get("k", lambda o: (0, o.size)))[1] == b"old"  # type: ignore[index]
    assert await store.put(made("k", b"new"), b"new", lambda current: current is not None) is not None
    assert (await store.get("k", lambda o: (0, o.size)))[1] == b"new"  # type: ignore[index]


async def test_delete_returns_the_keys_that_held_objects(store: BlobStore) -> None:
    for key in ("a", "é", "😀"):
        await store.put(made(key, b"x"), b"x")
    assert sorted(await store.delete(["a", "missing", "😀"])) == ["a", "😀"]
    assert await store.head("a") is None and await store.head("é") is not None
    assert await store.delete([]) == []


async def test_scan_orders_by_code_point_with_prefix_after_and_limit(store: BlobStore) -> None:
    for key in reversed(ODD_KEYS):
        await store.put(made(key, b"v", custom_metadata={"k": key}), b"v")

    async def keys(prefix: str, after: str | None = None, limit: int = 1000) -> list[str]:
        return [o.key for o in await store.scan(prefix, after, limit, False)]

    assert await keys("") == sorted(ODD_KEYS)
    assert await keys("a") == sorted(k for k in ODD_KEYS if k.startswith("a"))
    assert await keys("a\U0010ffff") == ["a\U0010ffff", "a\U0010ffffz"]
    assert await keys("é") == ["é", "é1"] and await keys("😀") == ["😀"] and await keys("一") == ["一"]
    assert await keys("", after="a😀") == sorted(k for k in ODD_KEYS if k > "a😀")
    assert await keys("a", after="a", limit=2) == sorted(k for k in ODD_KEYS if k.startswith("a"))[1:3]
    assert await keys("zz") == []
    full = await store.scan("aé", None, 10, True)
    assert [o.custom_metadata for o in full] == [{"k": "aé"}]


async def test_binding_checks_hold_on_every_store(bucket: Bucket) -> None:
    with pytest.raises(BindingError, match="did you mean `http_metadata`"):
        await bucket.put("k", "v", httpMetadata={"contentType": "text/plain"})  # type: ignore[call-overload]
    with pytest.raises(BindingError, match="did you mean `start_after`"):
        await bucket.list(startAfter="a")  # type: ignore[call-arg]
    with pytest.raises(BindingError, match="list limit must be 1 to 1000"):
        await bucket.list(limit=0)
    with pytest.raises(BindingError, match="did not match what we received"):
        await bucket.put("k", "v", md5="0" * 32)
    with pytest.raises(BindingError, match="value for 'k' is a int"):
        await bucket.put("k", 5)  # type: ignore[call-overload]
    for key in ODD_KEYS:
        await bucket.put(key, key)
    first = await bucket.list(prefix="a", limit=3)
    rest = await bucket.list(prefix="a", cursor=first["cursor"])
    assert first["truncated"] and not rest["truncated"]
    assert [o.key for o in first["objects"] + rest["objects"]] == sorted(k for k in ODD_KEYS if k.startswith("a"))
    grouped = await bucket.list(delimiter="😀")
    assert grouped["delimited_prefixes"] == ["a😀", "😀"]
    assert await bucket.list(cursor="forged") == {
        "objects": [], "delimited_prefixes": [], "truncated": False, "cursor": None,
    }  # fmt: skip
    assert (await bucket.get("a一", range={"suffix": 2})).body == "a一".encode()[-2:]  # type: ignore[union-attr]


def test_every_binding_class_gets_the_checks_by_construction(tmp_path: Path) -> None:
    class Overriding(Bucket):
        async def head(self, key: str) -> BucketObject | None:
            return await super().head(key)

    import asyncio

    with pytest.raises(BindingError, match=r"Overriding\.head"):
        asyncio.run(Overriding("b", tmp_path).head("k", onlyIf={}))  # type: ignore[call-arg]


async def test_file_store_is_a_blob_store(tmp_path: Path) -> None:
    assert isinstance(FileBlobStore(tmp_path), BlobStore)


async def test_multipart_uploads_on_every_store(bucket: Bucket) -> None:
    """Two 5 MiB parts and a short last one, completed out of order; an abort; a bad id."""
    size = 5 * 1024 * 1024
    upload = await bucket.create_multipart_upload("big/é😀", custom_metadata={"who": "me"})
    bodies = {1: b"a" * size, 2: b"b" * size, 3: b"tail"}
    parts = [await upload.upload_part(n, bodies[n]) for n in (2, 1, 3)]  # named out of order
    assert [p["part_number"] for p in parts] == [2, 1, 3] and all(p["etag"] for p in parts)
    resumed = bucket.resume_multipart_upload("big/é😀", upload.upload_id)
    obj = await resumed.complete(parts)
    md5s = b"".join(hashlib.md5(bodies[n]).digest() for n in (1, 2, 3))
    assert obj.size == 2 * size + 4 and obj.etag == f"{hashlib.md5(md5s).hexdigest()}-3"
    found = await bucket.get("big/é😀", range={"offset": size - 2, "length": 4})
    assert found is not None and found.body == b"aabb" and found.custom_metadata == {"who": "me"}
    assert (await bucket.get("big/é😀", range={"suffix": 5})).body == b"btail"  # type: ignore[union-attr]
    with pytest.raises(BindingError, match=r"10001|10024"):  # a finished upload is no longer open
        await upload.complete(parts)

    dropped = await bucket.create_multipart_upload("dropped")
    await dropped.upload_part(1, b"x")
    await dropped.abort()
    with pytest.raises(BindingError, match=r"does not exist. \(10024\)"):
        await dropped.upload_part(2, b"y")
    assert await bucket.head("dropped") is None
    with pytest.raises(BindingError, match=r"does not exist. \(10024\)"):
        await bucket.resume_multipart_upload("dropped", "not-an-upload").upload_part(1, b"z")
    with pytest.raises(BindingError, match=r"smaller than the minimum allowed object size. \(10011\)"):
        small = await bucket.create_multipart_upload("small")
        await small.complete([await small.upload_part(1, b"1"), await small.upload_part(2, b"2")])
