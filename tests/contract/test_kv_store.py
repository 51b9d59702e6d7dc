"""The KV store contract (``KvStore``) on every backend."""

from __future__ import annotations

import pytest

from runtime.backends.base import Backend, KvKey
from tests.contract.conftest import ODD_KEYS

pytestmark = pytest.mark.anyio


async def names(
    backend: Backend, prefix: str, after: str | None = None, limit: int = 1000, now: float = 100
) -> list[str]:
    return [k.name for k in await backend.kv.list("ns", prefix, after, limit, now)]


async def test_get_returns_what_put_stored_until_it_expires(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "k", b"\x00value", 150.5, '{"m": "é"}')
    entry = await kv.get("ns", "k", 150.4)
    assert entry is not None
    assert (entry.value, entry.metadata, entry.expires_at) == (b"\x00value", '{"m": "é"}', 150.5)
    assert await kv.get("ns", "k", 150.5) is None  # expires_at <= now: never returned
    assert await kv.get("ns", "missing", 100) is None


async def test_put_replaces_value_metadata_and_expiry(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "k", b"1", 150, '{"old": true}')
    await kv.put("ns", "k", b"2", None, None)
    entry = await kv.get("ns", "k", 10_000)
    assert entry is not None and (entry.value, entry.metadata, entry.expires_at) == (b"2", None, None)
    assert await kv.sweep(10_000) == 0  # the old expiry went with the old entry
    assert [(k.name, k.expires_at, k.metadata) for k in await kv.list("ns", "", None, 10, 10_000)] == [
        ("k", None, None)
    ]


async def test_delete_removes_a_key_and_ignores_a_missing_one(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "a😀", b"1", 150, None)
    await kv.delete("ns", "a😀")
    await kv.delete("ns", "never there")
    assert await kv.get("ns", "a😀", 100) is None
    assert await names(backend, "") == []
    assert await kv.count("ns", 100) == 0
    assert await kv.sweep(200) == 0


async def test_namespaces_are_separate(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "k", b"1", None, None)
    await kv.put("ns:v", "k", b"2", None, None)  # a namespace that looks like a key path
    await kv.put("other", "k", b"3", None, None)
    assert (await kv.get("ns", "k", 100)).value == b"1"  # type: ignore[union-attr]
    assert await kv.count("ns", 100) == 1
    await kv.delete("ns", "k")
    assert (await kv.get("other", "k", 100)).value == b"3"  # type: ignore[union-attr]
    assert await names(backend, "") == []


@pytest.mark.parametrize("key", ["é", "a一", "a😀", "\U0010ffff", " ", "a:v:b", "*", "[x"])
async def test_odd_keys_round_trip(backend: Backend, key: str) -> None:
    await backend.kv.put("ns", key, key.encode(), None, None)
    assert (await backend.kv.get("ns", key, 100)).value == key.encode()  # type: ignore[union-attr]
    assert await names(backend, "") == [key]
    assert await names(backend, key) == [key]


async def test_list_is_in_code_point_order_with_every_key_of_a_prefix(backend: Backend) -> None:
    for key in ODD_KEYS:
        await backend.kv.put("ns", key, b"v", None, None)
    assert await names(backend, "") == sorted(ODD_KEYS)
    assert await names(backend, "a") == sorted(k for k in ODD_KEYS if k.startswith("a"))
    assert await names(backend, "é") == ["é", "é1"]
    assert await names(backend, "a\U0010ffff") == ["a\U0010ffff", "a\U0010ffffz"]
    assert await names(backend, "一") == ["一"]
    assert await names(backend, "😀") == ["😀"]
    assert await names(backend, "c") == []


@pytest.mark.parametrize("prefix", ["", "a", "é"])
async def test_list_pages_with_after_and_limit(backend: Backend, prefix: str) -> None:
    for key in ODD_KEYS:
        await backend.kv.put("ns", key, b"v", None, None)
    expected = sorted(k for k in ODD_KEYS if k.startswith(prefix))
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page = await names(backend, prefix, after, 2)
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [k for page in pages for k in page] == expected
    assert all(len(page) == 2 for page in pages[:-1])


async def test_list_after_outside_the_prefix(backend: Backend) -> None:
    for key in ODD_KEYS:
        await backend.kv.put("ns", key, b"v", None, None)
    assert await names(backend, "é", after="a") == ["é", "é1"]  # before the prefix: from its start
    assert await names(backend, "a", after="é") == []  # past the prefix: nothing
    assert await names(backend, "a", after="a一") == ["a😀", "a\U0010ffff", "a\U0010ffffz"]


async def test_list_skips_expired_keys_and_reports_expiry_and_metadata(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "a1", b"v", None, '{"n": 1}')
    await kv.put("ns", "a2", b"v", 150, None)
    await kv.put("ns", "a3", b"v", 120, None)
    await kv.put("ns", "a4", b"v", None, None)
    listed = await kv.list("ns", "a", None, 2, 130)  # a3 has expired: the limit counts live keys
    assert listed == [KvKey("a1", None, '{"n": 1}'), KvKey("a2", 150, None)]
    assert await names(backend, "a", now=150) == ["a1", "a4"]


async def test_count_counts_live_keys(backend: Backend) -> None:
    kv = backend.kv
    for i, key in enumerate(ODD_KEYS):
        await kv.put("ns", key, b"v", 150 if i % 2 else None, None)
    await kv.put("other", "x", b"v", None, None)
    assert await kv.count("ns", 100) == len(ODD_KEYS)
    assert await kv.count("ns", 150) == len(ODD_KEYS[::2])
    assert await kv.count("empty", 100) == 0


async def test_sweep_deletes_expired_entries_of_every_namespace(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "a😀", b"v", 120, None)
    await kv.put("ns", "b", b"v", 200, None)
    await kv.put("ns", "c", b"v", None, None)
    await kv.put("other", "é", b"v", 110, None)
    assert await kv.sweep(150) == 2
    assert await kv.sweep(150) == 0
    assert await names(backend, "", now=0) == ["b", "c"]  # gone even for a reader whose clock is behind
    assert await kv.count("other", 0) == 0
    assert (await kv.get("ns", "b", 150)).value == b"v"  # type: ignore[union-attr]
