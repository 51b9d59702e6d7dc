"""Miniflare's R2 assertions, ported: packages/miniflare/test/plugins/r2/index.spec.ts
(cloudflare/workers-sdk), and validator.spec.ts. Each test names the Miniflare test it comes from;
README.md says where every case of those spec files went."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest

from runtime import App, BindingError, FakeClock, LimitError
from runtime.buckets import BucketObjectBody
from tests.peer.conftest import reopened

pytestmark = pytest.mark.anyio
HTTP_METADATA = {
    "contentType": "text/plain",
    "contentLanguage": "en-GB",
    "contentDisposition": 'attachment; filename="value.txt"',
    "contentEncoding": "gzip",
    "cacheControl": "max-age=3600",
}
MD5 = "2063c1608d6e0baf80249c42e2be5804"  # of "value"


async def test_head_returns_null_for_missing_and_metadata_for_existing(app: App, clock: FakeClock) -> None:
    # "head: returns null for non-existent keys" / "head: returns metadata for existing keys"
    r2 = app.env.BUCKET
    assert await r2.head("key") is None
    await r2.put("key", "value", http_metadata=HTTP_METADATA, custom_metadata={"key": "value"})
    obj = await r2.head("key")
    assert obj.key == "key" and re.fullmatch(r"[0-9a-f]{32}", obj.version)
    assert obj.size == 5 and obj.etag == MD5 and obj.http_etag == f'"{MD5}"'
    assert obj.checksums == {"md5": MD5}
    assert obj.http_metadata == HTTP_METADATA and obj.custom_metadata == {"key": "value"}
    assert obj.range == {"offset": 0, "length": 5}
    assert obj.uploaded == clock.now()  # the app's clock, not the wall clock


async def test_get_returns_metadata_and_body(app: App, clock: FakeClock) -> None:
    # "get: returns null for non-existent keys" / "get: returns metadata and body for existing keys"
    r2 = app.env.BUCKET
    assert await r2.get("key") is None
    await r2.put("key", "value", http_metadata=HTTP_METADATA, custom_metadata={"key": "value"})
    body = await r2.get("key")
    assert body.key == "key" and body.size == 5 and body.etag == MD5
    assert body.http_metadata == HTTP_METADATA and body.custom_metadata == {"key": "value"}
    assert body.range == {"offset": 0, "length": 5} and await body.text() == "value"
    assert body.uploaded == clock.now()


async def test_get_range_using_object(app: App) -> None:  # "get: range using object"
    r2 = app.env.BUCKET
    await r2.put("key", "value")
    for wanted, expected, text in [
        ({"offset": 3}, {"offset": 3, "length": 2}, "ue"),
        ({"length": 3}, {"offset": 0, "length": 3}, "val"),
        ({"length": 42}, {"offset": 0, "length": 5}, "value"),  # overflowing length
        ({"offset": 1, "length": 3}, {"offset": 1, "length": 3}, "alu"),
        ({"suffix": 3}, {"offset": 2, "length": 3}, "lue"),
        ({"suffix": 42}, {"offset": 0, "length": 5}, "value"),  # underflowing suffix
    ]:
        body = await r2.get("key", range=wanted)
        assert body.range == expected, wanted
        assert await body.text() == text, wanted
    for unsatisfiable in ({"offset": 42}, {"length": 0}, {"suffix": 0}):
        with pytest.raises(BindingError, match=r"The requested range is not satisfiable \(10039\)"):
            await r2.get("key", range=unsatisfiable)


async def test_put_returns_metadata_for_created_object(app: App, clock: FakeClock) -> None:
    # "put: returns metadata for created object"
    clock.advance(hours=2)
    obj = await app.env.BUCKET.put("key", "value", http_metadata=HTTP_METADATA, custom_metadata={"key": "value"})
    assert obj.key == "key" and obj.size == 5 and obj.etag == MD5 and obj.checksums == {"md5": MD5}
    assert obj.http_metadata == HTTP_METADATA and obj.custom_metadata == {"key": "value"}
    assert obj.range is None
    assert obj.uploaded == clock.now() and obj.uploaded - timedelta(hours=2) < clock.now()


async def test_put_empty_and_overrides(app: App) -> None:  # "put: puts empty value" / "put: overrides existing keys"
    r2 = app.env.BUCKET
    obj = await r2.put("key", "")
    assert obj.size == 0 and await (await r2.get("key")).text() == ""
    await r2.put("key", "value1")
    await r2.put("key", "value2")
    assert await (await r2.get("key")).text() == "value2"


def digest(text: str, algorithm: str = "md5") -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


async def test_put_validates_checksums(app: App) -> None:  # "put: validates checksums"
    r2 = app.env.BUCKET
    md5 = digest("value")
    for algorithm, label in [("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256"), ("sha384", "SHA-384"),
                             ("sha512", "SHA-512")]:  # fmt: skip
        good = digest("value", algorithm)
        stored = await r2.put("key", "value", **{algorithm: good.upper() if algorithm == "sha256" else good})
        bad = good.replace("0", "1", 1)
        expected = (
            f"put: The {label} checksum you specified did not match what we received.\n"
            f"You provided a {label} checksum with value: {bad}\nActual {label} was: {good} (10037)"
        )
        with pytest.raises(BindingError, match=re.escape(expected)):
            await r2.put("key", "value", **{algorithm: bad})
        wanted = {"md5": md5} if algorithm == "md5" else {"md5": md5, algorithm: good}  # always lowercase
        assert stored.checksums == wanted
        assert (await r2.head("key")).checksums == wanted and (await r2.get("key")).checksums == wanted
    with pytest.raises(BindingError, match="one checksum besides md5"):
        await r2.put("key", "value", sha1=digest("value", "sha1"), sha256=digest("value", "sha256"))
    with pytest.raises(BindingError, match="sha1 is a checksum in hex or bytes"):
        await r2.put("key", "value", sha1="not hex")
    assert (await r2.put("key", "value", sha1=bytes.fromhex(digest("value", "sha1")))).checksums["sha1"]


async def test_get_returns_body_only_if_passes_only_if(app: App, clock: FakeClock) -> None:
    # "get: returns body only if passes onlyIf"
    r2 = app.env.BUCKET
    past = clock.now() - timedelta(minutes=1)
    await r2.put("key", "value")
    future = clock.now() + timedelta(minutes=1)
    etag, bad = digest("value"), digest("👻")

    async def passes(cond: dict[str, object]) -> bool:
        found = await r2.get("key", only_if=cond)
        assert found is not None
        return isinstance(found, BucketObjectBody)

    assert await passes({"etag_matches": etag}) and not await passes({"etag_matches": bad})
    assert not await passes({"etag_does_not_match": etag}) and await passes({"etag_does_not_match": bad})
    assert await passes({"uploaded_before": future}) and not await passes({"uploaded_before": past})
    assert not await passes({"uploaded_after": future}) and await passes({"uploaded_after": past})
    assert await passes({"etag_matches": "*"}) and await passes({"etag_matches": [bad, f'"{etag}"']})
    with pytest.raises(BindingError, match="did you mean `etag_matches`"):
        await r2.get("key", only_if={"etagMatches": etag})
    with pytest.raises(BindingError, match="did you mean `only_if`"):
        await r2.get("key", onlyIf={"etag_matches": etag})


async def test_put_stores_only_if_passes_only_if(app: App, clock: FakeClock) -> None:
    # "put: stores only if passes onlyIf"
    r2 = app.env.BUCKET
    past, future = clock.now() - timedelta(minutes=1), clock.now() + timedelta(minutes=5)
    etag, bad = digest("1"), digest("👻")
    await r2.put("key", "1")

    async def passes(cond: dict[str, object]) -> bool:
        stored = await r2.put("key", "2", only_if=cond)
        text = await (await r2.get("key")).text()
        if stored is None:
            assert text == "1"
            return False
        assert text == "2"
        await r2.put("key", "1")
        return True

    assert await passes({"etag_matches": etag}) and not await passes({"etag_matches": bad})
    assert not await passes({"etag_does_not_match": etag}) and await passes({"etag_does_not_match": bad})
    assert await passes({"uploaded_before": future}) and not await passes({"uploaded_before": past})
    assert not await passes({"uploaded_after": future}) and await passes({"uploaded_after": past})
    assert await r2.put("no-key", "2", only_if={"etag_matches": etag}) is None
    assert await r2.head("no-key") is None
    with pytest.raises(BindingError, match="timezone-aware datetime"):
        await r2.put("key", "2", only_if={"uploaded_before": "yesterday"})


async def test_put_validates_metadata_size(app: App) -> None:  # "put: validates metadata size"
    r2 = app.env.BUCKET
    await r2.put("key", "value", custom_metadata={"key": "x" * 2045})
    with pytest.raises(LimitError, match=r"exceed the maximum allowed metadata size. \(10012\)"):
        await r2.put("key", "value", custom_metadata={"key": "x" * 2046})
    await r2.put("key", "value", custom_metadata={"hi": "x" * 2046})
    await r2.put("key", "value", custom_metadata={"key": "🙂" * 511})  # 3 + 4 * 511 = 2047 bytes
    await r2.put("key", "value", custom_metadata={"key1": "🙂" * 511})  # 2048
    with pytest.raises(LimitError, match="10012"):
        await r2.put("key", "value", custom_metadata={"key12": "🙂" * 511})
    with pytest.raises(LimitError, match="10012"):
        await r2.put("key", "value", custom_metadata={"key": "🙂" * 512})


async def test_validates_key(app: App) -> None:  # "head/get/put/delete: validates key"
    r2 = app.env.BUCKET
    for call in (r2.head, r2.get, lambda k: r2.put(k, "v"), r2.delete):
        with pytest.raises(LimitError, match="the limit is 1024"):
            await call("x" * 1025)


async def test_delete_deletes_existing_keys(app: App) -> None:  # "delete: deletes existing keys"
    r2 = app.env.BUCKET
    await r2.delete("key")  # nothing to delete: no error
    await r2.put("key", "value")
    assert await r2.head("key") is not None
    await r2.delete("key")
    assert await r2.head("key") is None
    for key in ("key1", "key2", "key3"):
        await r2.put(key, "v")
    await r2.delete(["key1", "key200", "key3"])
    assert await r2.head("key1") is None
    assert await r2.head("key2") is not None
    assert await r2.head("key3") is None


async def pages(app: App, keys: list[str], **options: object) -> list[tuple[list[str], bool]]:
    """Miniflare's testList: seed ``keys``, then page through with the returned cursors."""
    r2 = app.env.BUCKET
    for i, key in enumerate(keys):
        await r2.put(key, f"value{i}")
    found = []
    cursor = options.pop("cursor", None)
    while True:
        result = await r2.list(**options, cursor=cursor)
        found.append(([o.key for o in result["objects"]], result["truncated"]))
        if not result["truncated"]:
            assert result["cursor"] is None
            return found
        assert isinstance(result["cursor"], str)
        cursor = result["cursor"]


async def test_list_sorted_and_prefix(app: App) -> None:  # "list: lists keys in sorted order" / "matching prefix"
    assert await pages(app, ["key3", "key1", "key2", ", ", "!"]) == [(["!", ", ", "key1", "key2", "key3"], False)]
    assert await pages(app, ["section1key1", "section1key2", "section2key1"], prefix="section1") == [
        (["section1key1", "section1key2"], False)
    ]


async def test_list_empty_and_invalid_cursor(app: App) -> None:
    # "returns an empty list with no keys" / "with no matching keys" / "with an invalid cursor"
    assert await pages(app, []) == [([], False)]
    assert await pages(app, ["key1", "key2", "key3"], prefix="none") == [([], False)]
    assert await pages(app, [], cursor="bad") == [([], False)]


async def test_list_paginates(app: App) -> None:  # "list: paginates keys" / "paginates keys matching prefix"
    assert await pages(app, ["key1", "key2", "key3"], limit=2) == [(["key1", "key2"], True), (["key3"], False)]
    more = await pages(
        app, ["section1key1", "section1key2", "section1key3", "section2key1"], prefix="section1", limit=2
    )
    assert more == [(["section1key1", "section1key2"], True), (["section1key3"], False)]


async def test_list_start_after(app: App) -> None:
    # "lists keys starting from startAfter exclusive" / "with startAfter and limit (...)"
    keys = ["key1", "key2", "key3", "key4"]
    assert await pages(app, keys, start_after="key2") == [(["key3", "key4"], False)]
    assert await pages(app, [], start_after="key1", limit=2) == [(["key2", "key3"], True), (["key4"], False)]
    assert await pages(app, [], start_after="key", limit=2) == [(["key1", "key2"], True), (["key3", "key4"], False)]


async def test_list_metadata_and_variable_limit(app: App, clock: FakeClock) -> None:
    # "list: returns metadata with objects" / "paginates with variable limit"
    r2 = app.env.BUCKET
    await r2.put("key", "value", custom_metadata={"foo": "bar"})
    (obj,) = (await r2.list())["objects"]
    assert obj.key == "key" and obj.size == 5 and obj.etag == MD5 and obj.http_etag == f'"{MD5}"'
    assert re.fullmatch(r"[0-9a-f]{32}", obj.version) and obj.checksums == {"md5": MD5}
    assert obj.http_metadata == {} and obj.custom_metadata == {} and obj.range is None
    assert obj.uploaded == clock.now()
    for key in ("key1", "key2", "key3"):
        await r2.put(key, "v")
    first = await r2.list(prefix="key", limit=1)
    assert [o.key for o in first["objects"]] == ["key"]
    second = await r2.list(prefix="key", limit=2, cursor=first["cursor"])
    assert [o.key for o in second["objects"]] == ["key1", "key2"]


async def test_list_includes_metadata_if_specified(app: App) -> None:
    # "list: includes httpMetadata and customMetadata if specified"
    r2 = app.env.BUCKET
    await r2.put("key1", "value1", http_metadata={"contentEncoding": "gzip"}, custom_metadata={"foo": "bar"})
    await r2.put("key2", "value2", http_metadata={"contentType": "dinosaur"}, custom_metadata={"bar": "fiz"})
    await r2.put("key3", "value3", http_metadata={"contentLanguage": "en"}, custom_metadata={"fiz": "bang"})
    http = [{"contentEncoding": "gzip"}, {"contentType": "dinosaur"}, {"contentLanguage": "en"}]
    custom = [{"foo": "bar"}, {"bar": "fiz"}, {"fiz": "bang"}]
    none = [{}, {}, {}]
    for include, want_http, want_custom in [
        (None, none, none),
        (["http_metadata"], http, none),
        (["customMetadata"], none, custom),  # the platform's spelling of the value names the same
        (["http_metadata", "custom_metadata"], http, custom),
    ]:
        objects = (await r2.list(include=include))["objects"]
        assert [o.http_metadata for o in objects] == want_http, include
        assert [o.custom_metadata for o in objects] == want_custom, include
    with pytest.raises(BindingError, match="list include is a list of"):
        await r2.list(include=["everything"])


async def test_list_returns_keys_inserted_whilst_paginating(
    app: App,
) -> None:  # "returns keys inserted whilst paginating"
    r2 = app.env.BUCKET
    for key in ("key1", "key3", "key5"):
        await r2.put(key, "v")
    first = await r2.list(limit=2)
    for key in ("key2", "key4"):
        await r2.put(key, "v")
    assert [o.key for o in (await r2.list(limit=2, cursor=first["cursor"]))["objects"]] == ["key4", "key5"]


async def test_list_validates_limit(app: App) -> None:  # "list: validates limit"
    for bad in (0, 1001):
        with pytest.raises(BindingError, match="list limit must be 1 to 1000"):
            await app.env.BUCKET.list(limit=bad)


async def test_list_delimited_prefixes(
    app: App,
) -> None:  # "returns correct delimitedPrefixes for delimiter and prefix"
    r2 = app.env.BUCKET
    values = ["dir0/file0", "dir0/file1", "dir0/sub0/file2", "dir0/sub0/file3", "dir0/sub1/file4", "dir0/sub1/file5",
              "dir1/file6", "dir1/file7", "file8", "file9"]  # fmt: skip
    for key in values:
        await r2.put(key, "v")

    async def listed(**options: object) -> tuple[list[str], list[str], bool]:
        result = await r2.list(**options)
        return [o.key for o in result["objects"]], result["delimited_prefixes"], result["truncated"]

    assert await listed() == (values, [], False)
    assert await listed(delimiter="") == (values, [], False)
    assert await listed(delimiter="file8") == ([k for k in values if k != "file8"], ["file8"], False)
    assert await listed(prefix="dir1/", delimiter="file6") == (["dir1/file7"], ["dir1/file6"], False)
    assert await listed(delimiter="/") == (["file8", "file9"], ["dir0/", "dir1/"], False)
    assert await listed(prefix="dir0/", delimiter="/") == (
        ["dir0/file0", "dir0/file1"],
        ["dir0/sub0/", "dir0/sub1/"],
        False,
    )
    assert await listed(prefix="dir0", delimiter="/") == ([], ["dir0/"], False)
    # the limit counts objects and delimited prefixes
    first = await r2.list(prefix="dir0/", delimiter="/", limit=2)
    assert ([o.key for o in first["objects"]], first["delimited_prefixes"], first["truncated"]) == (
        ["dir0/file0", "dir0/file1"], [], True,
    )  # fmt: skip
    assert await listed(prefix="dir0/", delimiter="/", limit=2, cursor=first["cursor"]) == (
        [], ["dir0/sub0/", "dir0/sub1/"], False,
    )  # fmt: skip


async def test_operations_permit_empty_key(app: App) -> None:  # "operations permit empty key"
    r2 = app.env.BUCKET
    await r2.put("", "empty")
    assert (await r2.head("")).key == ""
    assert await (await r2.get("")).text() == "empty"
    assert [o.key for o in (await r2.list())["objects"]] == [""]
    await r2.delete("")
    assert await r2.head("") is None


async def test_operations_persist_stored_data(app: App) -> None:  # "operations persist stored data"
    await app.env.BUCKET.put("key", "value")
    await app.stop()
    async with reopened(app) as again:
        assert await (await again.env.BUCKET.get("key")).text() == "value"


async def test_put_can_copy_values(app: App) -> None:  # "put: can copy values"
    r2 = app.env.BUCKET
    await r2.put("key", "0123456789")
    copies = {
        "key-copy": None,
        "key-copy-range-1": {"offset": 1, "length": 4},
        "key-copy-range-2": {"length": 3},
        "key-copy-range-3": {"suffix": 5},
    }
    for key, wanted in copies.items():
        await r2.put(key, (await r2.get("key", range=wanted)).body)
    texts = [await (await r2.get(key)).text() for key in copies]
    assert texts == ["0123456789", "1234", "012", "56789"]


async def test_delete_validates_keys(app: App) -> None:  # "delete: validates key" / "validates keys"
    r2 = app.env.BUCKET
    await r2.put("valid key", "v")
    with pytest.raises(LimitError, match="the limit is 1024"):
        await r2.delete(["valid key", "x" * 1025])
    assert await r2.head("valid key") is not None  # nothing was deleted: the list was refused whole
    with pytest.raises(BindingError, match="delete takes a key or a list of keys"):
        await r2.delete(5)


async def test_list_accepts_long_prefix(app: App) -> None:  # "list: accepts long prefix"
    r2 = app.env.BUCKET
    long_key = "x" * 1024
    await r2.put(long_key, "value")
    (obj,) = (await r2.list(prefix=long_key))["objects"]
    assert obj.key == long_key


async def test_get_range_using_range_header(app: App) -> None:  # 'get: range using "Range" header'
    # The platform takes a Headers object as the range; in Python, request headers (Starlette's
    # or httpx's Headers, or a dict with a "Range" key).
    from starlette.datastructures import Headers

    r2 = app.env.BUCKET
    value = "abcdefghijklmnopqrstuvwxyz"
    await r2.put("key", value)
    for headers, text, applied in [
        (Headers({}), value, {"offset": 0, "length": 26}),  # no Range header: the whole object
        (Headers({"range": "bytes=3-6"}), "defg", {"offset": 3, "length": 4}),
        (Headers({"Range": "bytes=10-"}), value[10:], {"offset": 10, "length": 16}),
        ({"Range": "bytes=-5"}, "vwxyz", {"offset": 21, "length": 5}),
        ({"range": "bytes=5-6,10-11"}, value, {"offset": 0, "length": 26}),  # several ranges: all of it
    ]:
        body = await r2.get("key", range=headers)
        assert (await body.text(), body.range) == (text, applied), headers
    with pytest.raises(BindingError, match="the Range header is bytes=START-END, START- or -SUFFIX"):
        await r2.get("key", range={"Range": "items=1-2"})
    with pytest.raises(BindingError, match=r"range is \{'offset', 'length'\} or \{'suffix'\}"):
        await r2.get("key", range={"offest": 3})  # a misspelt range is still refused, not read as headers


async def test_r2_conditional_matches_various_conditions(app: App, clock: FakeClock) -> None:
    # "testR2Conditional: matches various conditions" (validator.spec.ts, its fixture r2/validator.ts):
    # R2's precedence rules (RFC 7232 section 6), through get(only_if=) on an object and put(only_if=)
    # on a missing key.
    r2 = app.env.BUCKET
    await r2.put("key", "value")
    etag, bad = MD5, digest("not-test")
    past, future = clock.now() - timedelta(seconds=30), clock.now() + timedelta(seconds=30)

    async def using(**cond: object) -> bool:
        return isinstance(await r2.get("key", only_if=cond), BucketObjectBody)

    async def using_missing(**cond: object) -> bool:
        stored = await r2.put("missing", "x", only_if=cond)
        await r2.delete("missing")
        return stored is not None

    # single conditions
    assert await using(etag_matches=etag) and not await using(etag_matches=bad)
    assert await using(etag_does_not_match=bad) and not await using(etag_does_not_match=etag)
    assert not await using(uploaded_before=past) and await using(uploaded_before=future)
    assert await using(uploaded_after=past) and not await using(uploaded_after=future)
    # weak etags: never match etag_matches (a strong comparison), compared weakly otherwise
    assert not await using(etag_matches=f'W/"{etag}"')
    assert not await using(etag_does_not_match=f'W/"{etag}"')
    assert await using(etag_does_not_match=f'W/"{bad}"')
    assert await using(etag_matches="*") and not await using(etag_does_not_match="*")
    # several conditions that fail
    assert not await using(etag_matches=etag, etag_does_not_match=etag)
    assert not await using(etag_matches=etag, uploaded_after=future)
    assert not await using(etag_matches=etag, uploaded_after=future, uploaded_before=past)
    assert not await using(etag_does_not_match=bad, uploaded_before=past)
    assert not await using(etag_does_not_match=bad, uploaded_after=future, uploaded_before=past)
    assert not await using(etag_matches=bad, etag_does_not_match=bad, uploaded_after=past, uploaded_before=future)
    # several that pass: a passing etag_matches makes uploaded_before pass, a passing
    # etag_does_not_match makes uploaded_after pass
    assert await using(etag_matches=etag, etag_does_not_match=bad)
    assert await using(etag_matches=etag, uploaded_before=past)
    assert await using(etag_does_not_match=bad, uploaded_after=future)
    assert await using(etag_matches=etag, uploaded_before=past, etag_does_not_match=bad, uploaded_after=future)
    assert await using(uploaded_before=future, etag_does_not_match=bad, uploaded_after=future)
    assert await using(uploaded_after=past, etag_matches=etag, uploaded_before=past)
    # no object: etag_matches and uploaded_after fail, the others pass
    assert not await using_missing(etag_matches=etag)
    assert not await using_missing(uploaded_after=past)
    assert not await using_missing(etag_matches=etag, uploaded_after=past)
    assert await using_missing(etag_does_not_match=etag)
    assert await using_missing(uploaded_before=past)
    assert await using_missing(etag_does_not_match=etag, uploaded_before=past)


async def test_operations_permit_strange_bucket_names(tmp_path: object, kind: str) -> None:
    # "operations permit strange bucket names" (Miniflare's is "my/ Bucket"; a manifest name
    # keeps to the platform's name rules, so the strangest one it allows)
    from pathlib import Path

    from tests.backends import backend_url

    root = Path(str(tmp_path)) / "strange"
    root.mkdir()
    (root / "raindrop.manifest").write_text('application "s" {\n  bucket "my-bucket_name.with.dots-2" {}\n}\n')
    async with App.from_manifest(root / "raindrop.manifest", backend=backend_url(kind, root)) as app:
        (bucket,) = app.manifest.application.buckets
        r2 = getattr(app.env, bucket.binding)
        await r2.put("key", "value")
        assert await (await r2.get("key")).text() == "value"
