"""The KV binding's read path on SQLite (``value_now``, no coroutine frames): the same answers and
errors as the store's ``get``: a key checked as on every other call, a failure a StorageError."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import App
from runtime.errors import BindingError, LimitError, StorageError

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    (tmp_path / "raindrop.manifest").write_text('application "kv" {\n  kv_cache "cache" {}\n}\n')
    async with App.from_manifest(tmp_path / "raindrop.manifest", state_dir=tmp_path / "state") as instance:
        yield instance


async def test_get_reads_text_json_bytes_and_misses(app: App) -> None:
    kv = app.env.CACHE
    await kv.put("a", '{"x": "é"}')
    assert await kv.get("a") == '{"x": "é"}'
    assert await kv.get("a", "json") == {"x": "é"}
    assert await kv.get("a", "bytes") == '{"x": "é"}'.encode()
    assert await kv.get("é-key") is None and await kv.get("missing") is None
    assert (await kv.get_with_metadata("a"))["value"] == '{"x": "é"}'


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("", BindingError, "cannot be empty"),
        ("..", BindingError, "not allowed"),
        ("\ud800", BindingError, "lone surrogate"),
        ("k" * 513, LimitError, "512"),
        ("é" * 257, LimitError, "512"),  # 514 bytes, 257 characters
        (7, BindingError, "keys are strings"),
    ],
)
async def test_get_checks_the_key_as_every_call_does(app: App, key: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        await app.env.CACHE.get(key)


async def test_a_failing_read_is_a_storage_error_naming_the_file(app: App) -> None:
    app.backend.kv._conn.close()  # type: ignore[attr-defined]
    with pytest.raises(StorageError, match=r"state\.db.*get failed"):
        await app.env.CACHE.get("a")
    assert app.backend.failed_writes == 0  # a read loses nothing


async def test_get_checks_its_arguments_without_a_wrapper(app: App) -> None:
    """``get`` checks its own keywords and type (no wrapper frame on the hottest read): a bad
    type is refused even for a missing key, and the TypeScript shape gets its hint."""
    kv = app.env.CACHE
    with pytest.raises(BindingError, match="type must be 'text', 'json' or 'bytes', not 'xml'"):
        await kv.get("missing", "xml")
    with pytest.raises(BindingError, match="did you mean `cache_ttl`"):
        await kv.get("a", cacheTtl=60)
    with pytest.raises(BindingError, match="keyword arguments, not a dict"):
        await kv.get("a", {"type": "json"})
    with pytest.raises(BindingError, match="keyword arguments, not a dict"):
        await kv.get({"key": "a"})
    await kv.put("a", "1")
    assert await kv.get(["a", "b"], "json") == {"a": 1, "b": None}
