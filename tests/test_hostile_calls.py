"""Odd arguments to every binding end in the runtime's own errors (or Python's TypeError for a
wrong call), never in an exception from deeper down, and never count as a failed write."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from runtime import App
from runtime.errors import RaindropError, StorageError
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
MANIFEST = Path(__file__).parent / "apps" / "dash" / "raindrop.manifest"
ODD: list[Any] = [
    None,
    1,
    -1,
    1.5,
    float("nan"),
    float("inf"),
    2**70,
    True,
    "",
    ".",
    "\ud800",
    "x" * 2000,
    b"\xff",
    [],
    {},
    object(),
]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_odd_arguments_get_the_runtimes_errors(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = App.from_manifest(MANIFEST, backend=backend_url(kind, tmp_path))
    async with app:
        env = app.env

        def actor(call: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
            async def run(arg: Any) -> Any:
                return call(arg)

            return run

        calls: dict[str, Callable[[Any], Awaitable[Any]]] = {
            "kv.get": lambda a: env.CACHE.get(a),
            "kv.put key": lambda a: env.CACHE.put(a, "v"),
            "kv.put value": lambda a: env.CACHE.put("k", a),
            "kv.put expiration_ttl": lambda a: env.CACHE.put("k", "v", expiration_ttl=a),
            "kv.put expiration": lambda a: env.CACHE.put("k", "v", expiration=a),
            "kv.put metadata": lambda a: env.CACHE.put("k", "v", metadata=a),
            "kv.delete": lambda a: env.CACHE.delete(a),
            "kv.list prefix": lambda a: env.CACHE.list(prefix=a),
            "kv.list limit": lambda a: env.CACHE.list(limit=a),
            "kv.list cursor": lambda a: env.CACHE.list(cursor=a),
            "queue.send": lambda a: env.INBOX.send(a),
            "queue.send text": lambda a: env.INBOX.send(a, content_type="text"),
            "queue.send delay_seconds": lambda a: env.INBOX.send({}, delay_seconds=a),
            "queue.send content_type": lambda a: env.INBOX.send("x", content_type=a),
            "queue.send_batch": lambda a: env.INBOX.send_batch(a),
            "bucket.put key": lambda a: env.FILES.put(a, b"x"),
            "bucket.put value": lambda a: env.FILES.put("k", a),
            "bucket.get": lambda a: env.FILES.get(a),
            "bucket.head": lambda a: env.FILES.head(a),
            "bucket.delete": lambda a: env.FILES.delete(a),
            "bucket.list prefix": lambda a: env.FILES.list(prefix=a),
            "bucket.list limit": lambda a: env.FILES.list(limit=a),
            "sql.prepare": lambda a: env.NOTES.prepare(a).all(),
            "sql.bind": lambda a: env.NOTES.prepare("SELECT ?").bind(a).all(),
            "sql.exec": lambda a: env.NOTES.exec(a),
            "actor.id_from_name": actor(lambda a: env.SESSION.id_from_name(a)),
            "actor.id_from_string": actor(lambda a: env.SESSION.id_from_string(a)),
        }
        escaped = []
        for name, call in calls.items():
            for arg in ODD:
                try:
                    await asyncio.wait_for(call(arg), timeout=5)
                except (RaindropError, TypeError, AttributeError) as exc:
                    assert not isinstance(exc, StorageError), f"{name}({arg!r:.40}): {exc}"
                except Exception as exc:  # noqa: BLE001 - what the test looks for
                    escaped.append(f"{name}({arg!r:.40}): {type(exc).__name__}: {exc}")
        assert not escaped, "\n".join(escaped)
        assert getattr(app.backend, "failed_writes", 0) == 0
        await env.CACHE.put("after", "all of that")  # nothing was left pending
        assert await env.CACHE.get("after") == "all of that"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
