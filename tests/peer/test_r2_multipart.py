"""Miniflare's R2 multipart assertions, ported: packages/miniflare/test/plugins/r2/index.spec.ts
(cloudflare/workers-sdk), with its test part size of 50 bytes. Each test names its source."""

from __future__ import annotations

import hashlib

import pytest

from runtime import App, BindingError, LimitError

pytestmark = pytest.mark.anyio
PART_SIZE = 50
NO_UPLOAD = r"The specified multipart upload does not exist. \(10024\)"
INTERNAL = r"We encountered an internal error. Please try again. \(10001\)"
TOO_SMALL = r"completeMultipartUpload: Your proposed upload is smaller than the minimum allowed object size. \(10011\)"
BAD_UPLOAD = r"completeMultipartUpload: There was a problem with the multipart upload. \(10048\)"
NOT_FOUND = r"completeMultipartUpload: One or more of the specified parts could not be found. \(10025\)"


@pytest.fixture
def r2(app: App) -> object:
    bucket = app.env.BUCKET
    bucket.min_part_size = PART_SIZE
    return bucket


async def test_create_multipart_upload(r2: object) -> None:  # "createMultipartUpload"
    first = await r2.create_multipart_upload(  # type: ignore[attr-defined]
        "key", custom_metadata={"key": "value"}, http_metadata={"contentType": "text/plain"}
    )
    second = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    assert first.key == second.key == "key" and first.upload_id and first.upload_id != second.upload_id
    with pytest.raises(LimitError, match="the limit is 1024"):
        await r2.create_multipart_upload("x" * 1025)  # type: ignore[attr-defined]
    with pytest.raises(BindingError, match="did you mean `custom_metadata`"):
        await r2.create_multipart_upload("key", customMetadata={})  # type: ignore[attr-defined]


async def test_upload_part(r2: object) -> None:  # "uploadPart"
    upload = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    part1 = await upload.upload_part(1, "value1")
    part2 = await upload.upload_part(2, "value two")
    assert part1["part_number"] == 1 and part2["part_number"] == 2 and part1["etag"] != part2["etag"]
    again = await upload.upload_part(1, "value1")
    assert again["part_number"] == 1 and again["etag"] != part1["etag"]
    assert (await upload.upload_part(100, "value1"))["part_number"] == 100
    for key, upload_id in (("key", "bad"), ("badkey", upload.upload_id)):
        with pytest.raises(BindingError, match="uploadPart: " + NO_UPLOAD):
            await r2.resume_multipart_upload(key, upload_id).upload_part(1, "value")  # type: ignore[attr-defined]
    with pytest.raises(LimitError):
        await r2.resume_multipart_upload("x" * 1025, "bad").upload_part(1, "value")  # type: ignore[attr-defined]
    for bad in (0, 10_001, "1", True):
        with pytest.raises(BindingError, match="part_number is 1 to 10000"):
            await upload.upload_part(bad, "v")
    with pytest.raises(BindingError, match="did you mean `part_number`"):
        await upload.upload_part(partNumber=1, value="v")


async def test_abort_multipart_upload(r2: object) -> None:  # "abortMultipartUpload"
    upload1 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    upload2 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    for n in (1, 2, 3):
        await upload1.upload_part(n, f"value{n}")
    await upload1.abort()
    with pytest.raises(BindingError, match="uploadPart: " + NO_UPLOAD):
        await upload1.upload_part(4, "value4")
    await upload1.abort()  # twice: no error
    part1 = await upload2.upload_part(1, "value1")
    await upload2.complete([part1])
    await upload2.abort()
    assert await (await r2.get("key")).text() == "value1"  # type: ignore[attr-defined]
    upload3 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    for key, upload_id in (("key", "bad"), ("bad", upload3.upload_id)):
        with pytest.raises(BindingError, match="abortMultipartUpload: " + INTERNAL):
            await r2.resume_multipart_upload(key, upload_id).abort()  # type: ignore[attr-defined]


def md5s(*parts: str) -> str:
    joined = b"".join(hashlib.md5(p.encode()).digest() for p in parts)
    return f"{hashlib.md5(joined).hexdigest()}-{len(parts)}"


async def test_complete_multipart_upload(r2: object) -> None:  # "completeMultipartUpload"
    a, b = "1" * PART_SIZE, "2" * PART_SIZE
    upload1 = await r2.create_multipart_upload(  # type: ignore[attr-defined]
        "key", custom_metadata={"key": "value"}, http_metadata={"contentType": "text/plain"}
    )
    upload2 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    parts = [await upload1.upload_part(1, a), await upload1.upload_part(2, b), await upload1.upload_part(3, "3")]
    obj = await upload1.complete(parts)
    assert obj.key == "key" and obj.version and obj.size == 2 * PART_SIZE + 1
    assert obj.etag == "3b676245e58d988dc75f80c0c27a9645-3" == md5s(a, b, "3")  # Miniflare's figure
    assert obj.http_etag == f'"{obj.etag}"' and obj.range is None and obj.checksums == {}
    assert obj.custom_metadata == {"key": "value"} and obj.http_metadata == {"contentType": "text/plain"}
    assert await (await r2.get("key")).text() == a + b + "3"  # type: ignore[attr-defined]

    small = [await upload2.upload_part(n, str(n)) for n in (1, 2, 3)]
    with pytest.raises(BindingError, match=TOO_SMALL):
        await upload2.complete(small)
    with pytest.raises(BindingError, match=TOO_SMALL):
        await upload2.complete(small[:2])
    obj = await upload2.complete(small[:1])
    assert obj.size == 1 and obj.etag == "46d1741e8075da4ac72c71d8130fcb71-1"
    assert await (await r2.get("key")).text() == "1"  # type: ignore[attr-defined]

    upload3 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    first, second = await upload3.upload_part(1, "value"), await upload3.upload_part(1, "value")
    with pytest.raises(BindingError, match=NOT_FOUND):
        await upload3.complete([first])
    assert (await upload3.complete([second])).size == 5

    upload4 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    same = [await upload4.upload_part(1, c * PART_SIZE) for c in "123"]
    with pytest.raises(BindingError, match="completeMultipartUpload: " + INTERNAL):
        await upload4.complete(same)

    upload5 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    p1, p2, p3 = [await upload5.upload_part(n, str(n) * PART_SIZE) for n in (1, 2, 3)]
    obj = await upload5.complete([p2, p3, p1])  # any order: assembled by part number
    assert obj.size == 3 * PART_SIZE and obj.etag == "f1115cc5564e7e0b25bbd87d95c72c86-3"
    assert await (await r2.get("key")).text() == "1" * PART_SIZE + "2" * PART_SIZE + "3" * PART_SIZE  # type: ignore[attr-defined]
    upload5b = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    p1 = await upload5b.upload_part(1, "1")
    p2, p3 = [await upload5b.upload_part(n, str(n) * PART_SIZE) for n in (2, 3)]
    with pytest.raises(BindingError, match=BAD_UPLOAD):
        await upload5b.complete([p2, p3, p1])
    upload5c = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    p1, p2 = [await upload5c.upload_part(n, str(n) * PART_SIZE) for n in (1, 2)]
    p3 = await upload5c.upload_part(3, "3")
    with pytest.raises(BindingError, match=TOO_SMALL):
        await upload5c.complete([p2, p3, p1])

    upload6 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    gaps = [await upload6.upload_part(n, str(n) * PART_SIZE) for n in (2, 5, 9)]
    obj = await upload6.complete(gaps)
    assert obj.size == 3 * PART_SIZE and obj.etag == "471d773597286301a10c61cd8c84e659-3"

    upload7 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    obj = await upload7.complete([])
    assert obj.size == 0 and obj.etag == "d41d8cd98f00b204e9800998ecf8427e-0"
    assert await (await r2.get("key")).text() == ""  # type: ignore[attr-defined]

    upload8a = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    upload8b = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    with pytest.raises(BindingError, match=NOT_FOUND):
        await upload8a.complete([await upload8b.upload_part(1, "value")])

    upload9 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    part = await upload9.upload_part(1, "value")
    await upload9.complete([part])
    with pytest.raises(BindingError, match="completeMultipartUpload: " + NO_UPLOAD):
        await upload9.complete([part])
    upload10 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    part = await upload10.upload_part(1, "value")
    await upload10.abort()
    with pytest.raises(BindingError, match="completeMultipartUpload: " + NO_UPLOAD):
        await upload10.complete([part])

    upload11 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    for key, upload_id in (("key", "bad"), ("badkey", upload11.upload_id)):
        with pytest.raises(BindingError, match="completeMultipartUpload: " + INTERNAL):
            await r2.resume_multipart_upload(key, upload_id).complete([])  # type: ignore[attr-defined]

    upload13 = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    p1 = await upload13.upload_part(1, "1" * PART_SIZE)
    p2 = await upload13.upload_part(2, "2" * (PART_SIZE + 1))
    p3 = await upload13.upload_part(3, "3" * PART_SIZE)
    with pytest.raises(BindingError, match=BAD_UPLOAD):
        await upload13.complete([p1, p2, p3])
    p2 = await upload13.upload_part(2, "2" * PART_SIZE)
    p3 = await upload13.upload_part(3, "3" * (PART_SIZE + 1))
    with pytest.raises(BindingError, match=BAD_UPLOAD):
        await upload13.complete([p1, p2, p3])
    p3 = await upload13.upload_part(3, "3" * (PART_SIZE - 1))
    assert (await upload13.complete([p1, p2, p3])).size == 3 * PART_SIZE - 1
    with pytest.raises(BindingError, match="part_number, not partNumber"):
        await (await r2.create_multipart_upload("key")).complete([{"partNumber": 1, "etag": "x"}])  # type: ignore[attr-defined]


async def test_multipart_objects_read_list_range_and_delete_as_any(r2: object) -> None:
    # "head/get/put/delete/list: is multipart aware"
    upload = await r2.create_multipart_upload(  # type: ignore[attr-defined]
        "key", custom_metadata={"key": "value"}, http_metadata={"contentType": "text/plain"}
    )
    parts = [await upload.upload_part(n, c * PART_SIZE) for n, c in ((1, "a"), (2, "b"), (3, "c"))]
    # an upload in progress is no object yet
    assert await r2.head("key") is None and await r2.get("key") is None  # type: ignore[attr-defined]
    assert (await r2.list(include=["httpMetadata", "customMetadata"]))["objects"] == []  # type: ignore[attr-defined]
    completed = await upload.complete(parts)
    (listed,) = (await r2.list(include=["httpMetadata", "customMetadata"]))["objects"]  # type: ignore[attr-defined]
    assert (listed.key, listed.version, listed.size) == ("key", completed.version, 3 * PART_SIZE)
    assert listed.etag.endswith("-3") and listed.http_etag == f'"{listed.etag}"' and listed.checksums == {}
    assert listed.custom_metadata == {"key": "value"} and listed.http_metadata == {"contentType": "text/plain"}
    head = await r2.head("key")  # type: ignore[attr-defined]
    assert head.size == 3 * PART_SIZE and head.etag.endswith("-3") and head.checksums == {}
    part = await r2.get("key", range={"offset": PART_SIZE - 2, "length": 4})  # type: ignore[attr-defined]
    assert await part.text() == "aabb"
    assert [o.key for o in (await r2.list())["objects"]] == ["key"]  # type: ignore[attr-defined]
    await r2.put("key", "new")  # type: ignore[attr-defined]
    assert await (await r2.get("key")).text() == "new"  # type: ignore[attr-defined]
    await r2.delete("key")  # type: ignore[attr-defined]
    assert await r2.head("key") is None  # type: ignore[attr-defined]


async def test_delete_leaves_bodies_already_got_readable(r2: object) -> None:
    # "delete: waits for in-progress multipart gets before deleting part blobs": bodies got
    # before the delete read whole after it
    upload = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    parts = [await upload.upload_part(n, c * PART_SIZE) for n, c in ((1, "1"), (2, "2"), (3, "3"))]
    await upload.complete(parts)
    whole = await r2.get("key")  # type: ignore[attr-defined]
    tail = await r2.get("key", range={"offset": PART_SIZE})  # type: ignore[attr-defined]
    await r2.delete("key")  # type: ignore[attr-defined]
    assert await whole.text() == "1" * PART_SIZE + "2" * PART_SIZE + "3" * PART_SIZE
    assert await tail.text() == "2" * PART_SIZE + "3" * PART_SIZE
    assert await r2.get("key") is None  # type: ignore[attr-defined]


async def test_multipart_get_ranges_across_parts(r2: object) -> None:
    # "get: is multipart aware" (every range shape, within one part and across part boundaries)
    upload = await r2.create_multipart_upload("key")  # type: ignore[attr-defined]
    parts = [await upload.upload_part(n, c * PART_SIZE) for n, c in ((1, "a"), (2, "b"), (3, "c"))]
    await upload.complete(parts)
    whole = "a" * PART_SIZE + "b" * PART_SIZE + "c" * PART_SIZE
    for wanted in [
        {"offset": PART_SIZE},
        {"offset": PART_SIZE - 1},
        {"offset": 2 * PART_SIZE + 1},
        {"length": PART_SIZE + 1},
        {"offset": 1, "length": 3 * PART_SIZE - 2},
        {"offset": PART_SIZE - 1, "length": PART_SIZE + 2},
        {"suffix": PART_SIZE + 1},
        {"suffix": 3 * PART_SIZE},
    ]:
        body = await r2.get("key", range=wanted)  # type: ignore[attr-defined]
        start = wanted.get("offset", 3 * PART_SIZE - wanted.get("suffix", 3 * PART_SIZE))
        end = start + wanted["length"] if "length" in wanted else 3 * PART_SIZE
        assert await body.text() == whole[start:end], wanted
        assert body.range == {"offset": start, "length": end - start}, wanted
